"""Deploy unit: thin entry points only; `main` exposes every function."""
