"""The sync benchmark's report arithmetic: the sync over its floor, the floor over the bare
commit (benchmarks/sync.py; the timings themselves live in docs/BENCHMARKS.md)."""

from __future__ import annotations

from typing import Any, cast

from benchmarks.sync import MODES, LatencyRun, floor_ratios


def run(bare: float, floor: float, service: float, server: float) -> LatencyRun:
    rounds = {
        "bare": [[bare, bare * 3], [bare]],
        "floor": [[floor], [floor, floor * 9]],
        "service": [[service]],
        "server": [[server], [server]],
    }
    return LatencyRun(rounds, meter=cast(Any, None))  # the meter is not read by the ratios


def test_the_sync_is_reported_over_its_floor_and_the_floor_over_the_bare_commit() -> None:
    held, sharing = MODES[True], MODES[False]
    (line,) = floor_ratios({True: run(0.01, 0.05, 0.08, 0.1), False: run(0.02, 0.1, 0.3, 0.25)})
    assert (
        f"{held}: the floor is 5.0x the bare commit; the sync in process 1.6x, at the server 2.0x"
    ) in line
    assert (
        f"{sharing}: the floor is 5.0x the bare commit; the sync in process 3.0x, "
        "at the server 2.5x"
    ) in line
