"""Recurring focus schedules: wire models, storage and use cases (`upsertSchedule`,
`deleteSchedule`, `listSchedules`), and the expansion of weekly rules into UTC occurrences."""
