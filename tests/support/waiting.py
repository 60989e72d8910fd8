"""Waiting for what the stack does asynchronously (Pub/Sub pushes, the mirror consumer)."""

from __future__ import annotations

import time
from collections.abc import Callable

POLL_S = 0.25


def wait_for[T](
    check: Callable[[], T | None],
    timeout: float,
    what: str,
    *,
    transient: tuple[type[Exception], ...] = (),
) -> T:
    """Poll `check` until it returns something truthy, and return it; AssertionError after
    `timeout` seconds.

    Only exceptions of the `transient` types (say, PostgreSQL restarting) count as not yet; the
    timeout names the last of them. Any other exception is raised at once: a check that cannot
    run (a TypeError, a failed assertion in it) is a failure, not something to wait out."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while True:
        try:
            value = check()
        except transient as err:
            last, value = err, None
        if value:
            return value
        if time.monotonic() >= deadline:
            break
        time.sleep(POLL_S)
    seen = f"; last error: {last!r}" if last is not None else ""
    raise AssertionError(f"{what} did not happen within {timeout:g} s{seen}") from last
