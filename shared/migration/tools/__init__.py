"""What `focusctl mirror ...` and the scheduled jobs run: backfill, reconcile and their reads."""
