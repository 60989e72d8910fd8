"""Recurring focus schedules: expansion of weekly rules into concrete UTC occurrences."""
