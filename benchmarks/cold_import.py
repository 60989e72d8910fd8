"""Cold-start import cost: `functions/main.py` against importing the Google clients eagerly."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 15

CASES = {
    "functions.main (this project)": "import functions.main",
    "eager: firebase_admin + firestore + pubsub + tasks": (
        "import firebase_admin, firebase_admin.auth; "
        "from google.cloud import firestore, pubsub_v1, tasks_v2"
    ),
    "baseline: empty interpreter": "pass",
}


def _time_once(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    return time.perf_counter() - started


def measure() -> dict[str, tuple[float, float]]:
    """Median and p90 seconds of a fresh interpreter running each case, interleaved."""
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    for name, code in CASES.items():
        _time_once(code)  # warm the file system cache and .pyc files
        del name
    for _ in range(RUNS):
        for name, code in CASES.items():
            samples[name].append(_time_once(code))
    return {
        name: (statistics.median(values), sorted(values)[int(len(values) * 0.9) - 1])
        for name, values in samples.items()
    }


def run() -> str:
    results = measure()
    lines = [
        "## Cold import",
        "",
        f"Wall time of `python -c '<import>'` in a fresh interpreter, {RUNS} runs each, "
        "interleaved; includes interpreter start-up (see the baseline row).",
        "",
        "| case | median | p90 |",
        "|---|---|---|",
    ]
    for name, (median, p90) in results.items():
        lines.append(f"| {name} | {median * 1000:.0f} ms | {p90 * 1000:.0f} ms |")
    ours = results["functions.main (this project)"][0]
    eager = results["eager: firebase_admin + firestore + pubsub + tasks"][0]
    lines += [
        "",
        f"`functions/main.py` imports in {ours / eager:.0%} of the eager time: services, "
        "pydantic models and the Google clients load inside the function that uses them.",
    ]
    return "\n".join(lines)
