"""The domain library of the focus backend; every Cloud Function imports from here."""
