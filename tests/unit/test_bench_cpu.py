"""The benchmarks' CPU meter counts a process's descendants, not only the process."""

from __future__ import annotations

import os
import subprocess
import sys

from benchmarks.cpu import cpu_seconds, descendants, own_cpu, tree_cpu

# A child that burns 0.3 s of CPU, says so, and waits for its stdin to close.
BURN = """
import sys, time
while time.process_time() < 0.3:
    pass
print("burnt", flush=True)
sys.stdin.read()
"""


def test_a_tree_counts_the_cpu_of_its_children() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", BURN], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "burnt"
        assert child.pid in descendants(os.getpid())
        mine = own_cpu()
        tree = tree_cpu({"test": os.getpid()})["test"]
        assert tree - mine >= 0.3 - 0.02  # clock ticks are 10 ms
        assert tree_cpu({"child": child.pid})["child"] >= 0.3 - 0.02
        assert cpu_seconds([child.pid]) >= 0.3 - 0.02
        assert cpu_seconds([os.getpid()]) < tree  # a process alone, without its children
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=30)
