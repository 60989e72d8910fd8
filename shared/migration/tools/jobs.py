"""What the operator jobs share when they run as N tasks (Cloud Run Jobs or local processes).

- **A task's share of the partitions** (`task_share`): partition `i` belongs to task
  `i % count`. The partition count is an option that stays the same on every run, so a task
  that died is re-run (Cloud Run retries it with the same index) and finds its partitions'
  saved cursors again, whatever the number of tasks was when they were saved.
- **A rate limit per task** (`RateLimit`): documents per second, so that a job never takes
  Firestore's capacity from live traffic (Firestore's guidance: start at 500 operations/s and
  grow by half every 5 minutes). The job's total is tasks x rate.
- **A SQL pool per task** (`pool_size`): the connections a task needs (one per thread and one
  for its cursors), checked against the share of PostgreSQL's `max_connections` the jobs may
  take, so that tasks x pool never crowds the functions out.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable


@dataclasses.dataclass(frozen=True)
class Task:
    """This process's place among the job's tasks (Cloud Run sets CLOUD_RUN_TASK_INDEX and
    CLOUD_RUN_TASK_COUNT; on a laptop it is task 0 of 1)."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"task {self.index} of {self.count} does not exist")


def task_share(partitions: int, task: Task) -> list[int]:
    """The partition indices `task` works on (pure): every partition in exactly one task."""
    return [i for i in range(partitions) if i % task.count == task.index]


def pool_size(threads: int, tasks: int, connection_budget: int | None) -> int:
    """Connections per task: one per thread and one for cursors and state. Raises ValueError
    when `tasks` such pools would exceed `connection_budget` (None: no budget given)."""
    size = threads + 1
    if connection_budget is not None and size * tasks > connection_budget:
        raise ValueError(
            f"{tasks} tasks x {size} connections exceed the jobs' budget of "
            f"{connection_budget}: use fewer tasks or fewer partitions/workers per task"
        )
    return size


class RateLimit:
    """At most `per_second` units on average (a token bucket holding one second's worth);
    None or 0 means no limit. Thread-safe: a task's threads share its budget."""

    def __init__(
        self,
        per_second: float | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._rate = per_second or 0.0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = self._rate
        self._at = clock()

    def take(self, units: int) -> None:
        """Wait until `units` may go (a page larger than the bucket goes into debt)."""
        if self._rate <= 0 or units <= 0:
            return
        with self._lock:
            now = self._clock()
            self._tokens = min(self._rate, self._tokens + (now - self._at) * self._rate)
            self._at = now
            self._tokens -= units
            wait = -self._tokens / self._rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
