"""Focus sessions: offline-first sync between a user's devices (`syncFocusSessions`)."""
