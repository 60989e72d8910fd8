"""The operator jobs' task arithmetic: shares of partitions, SQL pools, the rate limit (pure)."""

from __future__ import annotations

import pytest

from shared.changes import CHANGE_SHARDS, change_shard
from shared.migration.tools.jobs import RateLimit, Task, pool_size, task_share


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7, 64, 100])
def test_every_partition_is_in_exactly_one_task(count: int) -> None:
    shares = [task_share(64, Task(i, count)) for i in range(count)]
    flat = sorted(p for share in shares for p in share)
    assert flat == list(range(64))
    assert max(map(len, shares)) - min(map(len, shares)) <= 1  # evenly


def test_a_task_that_does_not_exist_is_refused() -> None:
    with pytest.raises(ValueError, match="does not exist"):
        Task(2, 2)


def test_the_pool_fits_the_budget_or_is_refused() -> None:
    assert pool_size(8, 4, 40) == 9
    with pytest.raises(ValueError, match="exceed"):
        pool_size(8, 5, 40)
    assert pool_size(8, 100, None) == 9


def test_the_change_shard_is_stable_and_spread() -> None:
    assert change_shard("0alpha") == change_shard("0alpha")
    shards = {change_shard(f"user{i}") for i in range(2000)}
    assert shards == set(range(CHANGE_SHARDS))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_rate_limit_keeps_the_average() -> None:
    clock = Clock()
    limit = RateLimit(100, clock=clock, sleep=clock.sleep)
    for _ in range(10):
        limit.take(50)  # 500 units at 100/s: the first 100 are the bucket, then 4 s of waits
    assert clock.now == pytest.approx(4.0)


def test_no_rate_means_no_wait() -> None:
    clock = Clock()
    limit = RateLimit(None, clock=clock, sleep=clock.sleep)
    limit.take(10_000)
    assert clock.slept == []
