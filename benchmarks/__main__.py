"""Runs benchmarks and writes their sections into docs/BENCHMARKS.md."""

from __future__ import annotations

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
    "mirror": "benchmarks.mirror",
    "cold_import": "benchmarks.cold_import",
    "sync": "benchmarks.sync",
    "push": "benchmarks.push",
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
    existing = dict(_MARK.findall(OUTPUT.read_text())) if OUTPUT.exists() else {}
    for name in wanted:
        sys.stderr.write(f"running {name}...\n")
        module = importlib.import_module(SECTIONS[name])
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        existing[name] = f"{module.run().rstrip()}\n\n_Measured {stamp} on {machine()}._\n"
    git = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    ).stdout.strip()
    parts = [
        "# Benchmarks\n",
        "Written by `make bench` (`python -m benchmarks [section ...]`); each section names the "
        "machine it ran on. Timings live here, never in test assertions.\n",
        f"Last run at commit `{git or 'uncommitted'}`.\n",
    ]
    for name in SECTIONS:
        if name in existing:
            parts.append(f"<!-- bench:{name} -->\n{existing[name]}<!-- /bench:{name} -->\n")
    OUTPUT.write_text("\n".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
