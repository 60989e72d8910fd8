"""Per-user rate limits shared by every function instance: the `limits` library on Redis.

One store for every instance (Memorystore for Redis in production, the stack's `redis-server`
locally: `FOCUS_REDIS_URL`), so a client spread over 100 instances gets the limit once, not 100
times. The strategy is the sliding-window counter (two small keys per user and limit, no
per-call document, no Firestore operation), which never lets through more than the limit over
any window of its length, give or take the rounding of the previous window's share.

**When Redis cannot be reached** each limit fails the way its registry entry says
(`registry.RateLimit.fail_closed`):
- open (the default, every cheap call): the call goes through, the log says
  `rate limiter unavailable` with `rateLimiter: "unavailable"` (a log-based metric counts it),
  because refusing every user's sync because a cache is down would turn a small outage into a
  total one, and the other bounds (App Check, max_instances, the request caps) still hold;
- closed (exportAccount starts, deleteAccount, the costly and rare calls): `UNAVAILABLE` with a
  retry hint, because what they protect (thousands of reads, an Auth deletion) is worth a short
  wait, and an app retries them anyway.
Each Redis command waits at most `FOCUS_REDIS_TIMEOUT_S`, so a stalled Redis costs a call that
long and no more.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import time
from typing import TYPE_CHECKING

from shared import logs
from shared.once import once

if TYPE_CHECKING:
    from limits.strategies import RateLimiter

_log = logs.get_logger("ratelimit")


class LimiterUnavailable(RuntimeError):
    """The shared store did not answer; the caller applies the limit's failure mode."""


@dataclasses.dataclass(frozen=True)
class Verdict:
    """`allowed`, or refused with `retry_after_s` (whole seconds, at least 1)."""

    allowed: bool
    retry_after_s: int = 0


class SharedLimits:
    """Rate limits by name and key over one `limits` storage (`memory://` or `redis://`)."""

    def __init__(
        self, storage_uri: str, timeout_s: float = 0.25, password: str | None = None
    ) -> None:
        from limits import storage, strategies

        options: dict[str, float | str | bool] = {}
        if storage_uri.startswith(("redis://", "rediss://")):
            options = {
                "socket_timeout": timeout_s,
                "socket_connect_timeout": timeout_s,
                "health_check_interval": 30,
            }
            if password:
                options["password"] = password
        # wrap_exceptions: every failure of the store is one exception type, whatever the driver.
        store = storage.storage_from_string(storage_uri, wrap_exceptions=True, **options)
        self._limiter: RateLimiter = strategies.SlidingWindowCounterRateLimiter(store)
        self.storage_uri = storage_uri

    def hit(self, rate: str, name: str, key: str, cost: int = 1) -> Verdict:
        """Spend `cost` of the limit `rate` (e.g. "120/minute") for (`name`, `key`).

        Raises `LimiterUnavailable` when the store does not answer."""
        from limits import parse
        from limits.errors import StorageError

        item = parse(rate)
        # Redis holds a digest of the key, never a user id (docs/PRIVACY.md).
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        try:
            if self._limiter.hit(item, name, digest, cost=cost):
                return Verdict(True)
            stats = self._limiter.get_window_stats(item, name, digest)
        except StorageError as err:
            raise LimiterUnavailable(str(err.storage_error)) from err
        wait = stats.reset_time - time.time()
        return Verdict(False, max(1, min(item.get_expiry(), math.ceil(wait))))


@once
def shared_limits() -> SharedLimits:
    """The instance's limiter, from the settings: Redis when `FOCUS_REDIS_URL` is set (always in
    production, see shared/settings.py), else this process's memory (unit tests, scripts)."""
    from shared.settings import get_settings

    settings = get_settings()
    password = settings.redis_password.get_secret_value() if settings.redis_password else None
    return SharedLimits(settings.redis_url or "memory://", settings.redis_timeout_s, password)


# Push tasks one user may have created per hour (docs/PUSH.md, "Budgets"). A schedule plans
# about 6 tasks (72 h of a daily block); 50 schedules saved at once need 300, and the hourly
# refill adds about 2 per schedule: twice that leaves room for a busy hour of edits.
PUSH_TASKS_PER_HOUR = "600/hour"


class PushTaskBudget:
    """`TaskBudget` (shared/push/planner.py) on the shared limits; fails open: a push a user is
    waiting for matters more than the queue share a Redis outage may let one account take."""

    def __init__(self, limits: SharedLimits, rate: str = PUSH_TASKS_PER_HOUR) -> None:
        self._limits = limits
        self._rate = rate

    def take(self, uid: str, tasks: int) -> bool:
        try:
            return self._limits.hit(self._rate, "pushTasks", uid, cost=tasks).allowed
        except LimiterUnavailable as err:
            report_unavailable("pushTasks", err)
            return True


def report_unavailable(name: str, err: Exception) -> None:
    """Log a limit that could not be checked (the log-based metric `rate_limiter_unavailable`
    counts these lines)."""
    _log.warning(
        "rate limiter unavailable for %s: %s",
        name,
        err,
        extra={"fields": {"rateLimiter": "unavailable", "limit": name}},
    )
