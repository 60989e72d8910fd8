"""`@once`: a zero-argument builder whose result is built at most once per process.

Every lazily built client, store and cache of an instance is declared with it. A new instance
under load gets several first requests at the same moment (a callable serves up to 8 at once);
`functools.cache` lets each of them run the builder, so they build different objects, or fail
outright where building twice is an error (firebase-admin's default app). Here the first caller
builds under a lock while the others wait for its object; afterwards reads take no lock.

A builder that raises builds nothing: the next call tries again. Builders may call other
builders (a store asks for its client); each has its own lock and the dependencies form no
cycle, so they cannot deadlock. A builder that calls itself fails with RecursionError instead
of hanging (the lock is reentrant).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

_UNSET = object()


class Once[T]:
    """A builder that runs once per process (until `cache_clear`), safe under threads."""

    def __init__(self, build: Callable[[], T]) -> None:
        functools.update_wrapper(self, build, updated=())
        self._build = build
        self._lock = threading.RLock()
        self._value: object = _UNSET

    def __call__(self) -> T:
        value = self._value
        if value is _UNSET:
            with self._lock:
                value = self._value
                if value is _UNSET:
                    value = self._value = self._build()
        return value  # type: ignore[return-value]

    @property
    def built(self) -> bool:
        return self._value is not _UNSET

    def cache_clear(self) -> None:
        """Forget the built object (tests that switch emulators or settings)."""
        with self._lock:
            self._value = _UNSET


def once[T](build: Callable[[], T]) -> Once[T]:
    """Decorator: `build` runs on the first call only, however many threads make it at once."""
    return Once(build)
