"""Privacy: exporting an account (`exportAccount`) and erasing it (`deleteAccount`)."""
