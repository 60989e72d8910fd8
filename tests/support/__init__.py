"""Test helpers shared by integration and end-to-end tests (not a test module)."""
