"""Cold-start import cost: `functions/main.py`, and each deployed function as its instance loads
it, against importing the Google clients eagerly.

A deployed instance imports main and fetches its one function by name (`FUNCTION_TARGET`); the
per-function rows do exactly that, in a fresh interpreter each. The discovery row fetches every
function without `FUNCTION_TARGET`, as `firebase deploy` and the local server do (the SDK and
the manifest entries load then): what every instance paid before functions loaded lazily.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 15

MAIN = "functions.main (import only)"
EAGER = "eager: firebase_admin + firestore + pubsub + tasks"
DISCOVERY = "discovery: main + every function, manifest entries"
# The figure these rows replace, for comparison beside them.
BEFORE = (
    "Before lazy loading (2026-12-07 05:41 UTC, commit `b2e12d9`, load average 0.8-0.9): "
    "`import functions.main` 1074 ms median, 70% of the eager 1543 ms; every function, "
    "Pub/Sub and Tasks targets included, loaded the SDK at import."
)


def _function_names() -> list[str]:
    from shared import registry

    return sorted(fn.name for fn in registry.FUNCTIONS)


def _cases() -> dict[str, tuple[str, dict[str, str]]]:
    """name -> (code, extra environment)."""
    cases: dict[str, tuple[str, dict[str, str]]] = {
        MAIN: ("import functions.main", {}),
        DISCOVERY: ("import functions.main as m; [getattr(m, n) for n in m.__all__]", {}),
        EAGER: (
            "import firebase_admin, firebase_admin.auth; "
            "from google.cloud import firestore, pubsub_v1, tasks_v2",
            {},
        ),
        "baseline: empty interpreter": ("pass", {}),
    }
    for name in _function_names():
        code = f"import functions.main as m; m.{name}"
        cases[f"`{name}` (import main + get it, `FUNCTION_TARGET={name}`)"] = (
            code,
            {"FUNCTION_TARGET": name},
        )
    return cases


def _time_once(code: str, env: dict[str, str]) -> float:
    base = {k: v for k, v in os.environ.items() if k != "FUNCTION_TARGET"}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env={**base, **env})
    return time.perf_counter() - started


def measure() -> dict[str, tuple[float, float]]:
    """Median and p90 seconds of a fresh interpreter running each case, interleaved."""
    cases = _cases()
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for code, env in cases.values():
        _time_once(code, env)  # warm the file system cache and .pyc files
    for _ in range(RUNS):
        for name, (code, env) in cases.items():
            samples[name].append(_time_once(code, env))
    return {
        name: (statistics.median(values), sorted(values)[int(len(values) * 0.9) - 1])
        for name, values in samples.items()
    }


def run() -> str:
    results = measure()
    eager = results[EAGER][0]
    lines = [
        "## Cold import",
        "",
        f"Wall time of `python -c '<import>'` in a fresh interpreter, {RUNS} runs each, "
        "interleaved; includes interpreter start-up (see the baseline row). A deployed instance "
        "imports `functions/main.py` and fetches its one function by name (`FUNCTION_TARGET`): "
        "the per-function rows. The discovery row is what `firebase deploy` and the local "
        "server load (every function, the SDK, the manifest entries).",
        "",
        "| case | median | p90 | of eager |",
        "|---|---|---|---|",
    ]
    for name, (median, p90) in results.items():
        lines.append(
            f"| {name} | {median * 1000:.0f} ms | {p90 * 1000:.0f} ms | {median / eager:.0%} |"
        )
    per_function = {n: m for n, (m, _) in results.items() if n.startswith("`")}
    worst = max(per_function, key=lambda n: per_function[n])
    lines += [
        "",
        f"`functions/main.py` imports in {results[MAIN][0] / eager:.0%} of the eager time; a "
        f"deployed function starts in at most {per_function[worst] / eager:.0%} of it "
        f"({worst.split('`')[1]}): main resolves names lazily (PEP 562), and the "
        "firebase-functions SDK (Flask, firebase_admin, google.auth), services, pydantic models "
        "and the Google clients load with the first request that uses them, not at import "
        "(`tests/unit/test_cold_start.py` keeps it so). That first request pays for them "
        "instead; the Pub/Sub and Tasks targets never load the SDK at all.",
        "",
        BEFORE,
    ]
    return "\n".join(lines)
