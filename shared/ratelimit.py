"""Per-user rate limiting that costs no Firestore document: token buckets in instance memory.

Each function instance keeps one bucket per (uid, function). A user whose calls spread over many
instances gets a proportionally larger allowance; that is acceptable because the limit exists to
stop runaway clients and scripted abuse cheaply (App Check and max_instances bound the rest), and
a shared counter document would be a hot spot and a billed write on every call.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    """Token bucket per key: `rate_per_minute` sustained, `burst` at once; LRU-bounded."""

    def __init__(
        self,
        rate_per_minute: int,
        burst: int,
        *,
        max_keys: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate = rate_per_minute / 60.0
        self._burst = float(burst)
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def acquire(self, key: str) -> int | None:
        """Take one token; None when allowed, else the seconds to wait before retrying."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (self._burst, now))
            tokens = min(self._burst, tokens + (now - last) * self._rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                allowed = True
            else:
                self._buckets[key] = (tokens, now)
                allowed = False
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        if allowed:
            return None
        return max(1, math.ceil((1.0 - tokens) / self._rate))
