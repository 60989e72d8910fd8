"""Waiting for what the stack does asynchronously (Pub/Sub pushes, the mirror consumer)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for[T](check: Callable[[], T | None], timeout: float, what: str) -> T:
    """Poll `check` until it returns something truthy, and return it; a check that raises
    (PostgreSQL restarting, ...) counts as not yet. AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except Exception:
            value = None
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"{what} did not happen within {timeout:.0f} s")
