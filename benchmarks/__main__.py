"""Runs benchmarks and writes their sections into docs/BENCHMARKS.md."""

from __future__ import annotations

import fcntl
import importlib
import os
import platform
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "BENCHMARKS.md"

# Section name -> module under benchmarks/ (in the order they appear in the file).
SECTIONS: dict[str, str] = {
    "cold_import": "benchmarks.cold_import",
    "sync": "benchmarks.sync",
    "push": "benchmarks.push",
    "mirror": "benchmarks.mirror",
}

_MARK = re.compile(r"<!-- bench:(\w+) -->\n(.*?)<!-- /bench:\1 -->\n", re.S)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}){mem}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def main(argv: list[str]) -> int:
    wanted = argv or list(SECTIONS)
    unknown = [name for name in wanted if name not in SECTIONS]
    if unknown:
        sys.stderr.write(f"unknown benchmark(s): {', '.join(unknown)}; known: {list(SECTIONS)}\n")
        return 2
    fresh: dict[str, str] = {}
    for name in wanted:
        sys.stderr.write(f"running {name}...\n")
        module = importlib.import_module(SECTIONS[name])
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        load = os.getloadavg()[0]
        body = module.run().rstrip()
        fresh[name] = (
            f"{body}\n\n_Measured {stamp} on {machine()}; load average {load:.1f} at start._\n"
        )
    _write(fresh)
    return 0


def _write(fresh: dict[str, str]) -> None:
    """Merge `fresh` sections into the file, read again under a lock: benchmarks run at the
    same time each keep their own sections."""
    git = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    ).stdout.strip()
    lock_path = ROOT / ".local" / "benchmarks.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        existing = dict(_MARK.findall(OUTPUT.read_text())) if OUTPUT.exists() else {}
        existing.update(fresh)
        parts = [
            "# Benchmarks\n",
            "Written by `make bench` (`python -m benchmarks [section ...]`); each section names "
            "the machine it ran on and how loaded it was where that matters. Timings live here, "
            "never in test assertions.\n",
            f"Last written at commit `{git or 'uncommitted'}`.\n",
        ]
        for name in SECTIONS:
            if name in existing:
                parts.append(f"<!-- bench:{name} -->\n{existing[name]}<!-- /bench:{name} -->\n")
        OUTPUT.write_text("\n".join(parts))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
