"""CPU time that processes and all their descendants have used, read from /proc (Linux).

A local stack's parts run as process trees (a supervisor, firebase-tools and its Java emulator,
PostgreSQL's postmaster and its backends), so a part's CPU is its whole tree's. Children that
have exited and been waited for are included (their `cutime`/`cstime` in the parent).
"""

from __future__ import annotations

import os
from collections.abc import Mapping


def _processes() -> dict[int, tuple[int, float, float]]:
    """pid -> (parent pid, CPU seconds of the process with its waited-for children, CPU seconds
    of the process alone)."""
    from devstack.process import proc_stats

    ticks = os.sysconf("SC_CLK_TCK")
    table: dict[int, tuple[int, float, float]] = {}
    for pid, fields in proc_stats():
        own = int(fields[11]) + int(fields[12])  # utime, stime
        waited = int(fields[13]) + int(fields[14])  # cutime, cstime
        table[pid] = (int(fields[1]), (own + waited) / ticks, own / ticks)
    return table


def _tree(table: dict[int, tuple[int, float, float]], root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def descendants(root: int) -> list[int]:
    """`root` and every process below it, now."""
    return _tree(_processes(), root)


def tree_cpu(roots: Mapping[str, int]) -> dict[str, float]:
    """CPU seconds of each named root process with all its descendants, now."""
    table = _processes()
    return {
        name: sum(table[pid][1] for pid in _tree(table, root) if pid in table)
        for name, root in roots.items()
    }


def cpu_seconds(pids: list[int]) -> float:
    """CPU seconds the processes `pids` (not their children) have used; gone ones count 0."""
    table = _processes()
    return sum(table[pid][2] for pid in pids if pid in table)


def own_cpu() -> float:
    """CPU seconds of this process alone (its threads), without its children."""
    times = os.times()
    return times.user + times.system
