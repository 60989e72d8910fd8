"""focusctl: the one operator CLI of the focus backend."""
