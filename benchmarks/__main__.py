"""Runs benchmarks and writes their sections into docs/BENCHMARKS.md."""

from __future__ import annotations

import fcntl
import importlib
import os
import platform
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "BENCHMARKS.md"

# Section name -> module under benchmarks/ (in the order they appear in the file).
SECTIONS: dict[str, str] = {
    "cold_import": "benchmarks.cold_import",
    "sync": "benchmarks.sync",
    "push": "benchmarks.push",
    "peak": "benchmarks.peak",
    "load": "benchmarks.load",
    "mirror": "benchmarks.mirror",
    "jobs": "benchmarks.jobs",
    "request_limits": "benchmarks.request_limits",
    "sql_scale": "benchmarks.sql_scale",
}

HEADER = (
    "# Benchmarks\n\n"
    "Written by `make bench` (`python -m benchmarks [section ...]`); each section names the "
    "machine it ran on and how loaded it was where that matters. Timings live here, never in "
    "test assertions.\n\n"
    "Last written at commit `uncommitted`.\n"
)

# A marker is a line of its own; anything else in the file is text the writer never touches.
_MARKER = re.compile(r"^<!-- (/?)bench:(\w+) -->[ \t]*\r?$", re.M)
_COMMIT_LINE = re.compile(r"^Last written at commit `[^`]*`\.$", re.M)
# What main() appends to every section it writes: when, and on which machine.
MEASURED = re.compile(r"^_Measured \d{4}-\d\d-\d\d \d\d:\d\d UTC on \d+ cores? \(.+\)", re.M)


class SectionError(ValueError):
    """The file's section markers do not pair up; nothing is written."""


def sections(text: str) -> dict[str, tuple[int, int]]:
    """Each section's name -> (start of its body, end of its body) in `text`.

    Markers must pair up, one section at a time and each name once: otherwise `SectionError`,
    because a writer that guessed could lose what it did not understand.
    """
    found: dict[str, tuple[int, int]] = {}
    open_name: str | None = None
    body_start = 0
    for match in _MARKER.finditer(text):
        closing, name = match.group(1) == "/", match.group(2)
        line = text.count("\n", 0, match.start()) + 1
        if not closing:
            if open_name is not None:
                raise SectionError(f"line {line}: bench:{name} opens inside bench:{open_name}")
            if name in found:
                raise SectionError(f"line {line}: a second bench:{name} section")
            open_name = name
            body_start = _line_end(text, match.end())
        else:
            if open_name != name:
                raise SectionError(f"line {line}: /bench:{name} closes nothing open")
            found[name] = (body_start, match.start())
            open_name = None
    if open_name is not None:
        raise SectionError(f"bench:{open_name} is never closed")
    return found


def _line_end(text: str, pos: int) -> int:
    """The position after the newline that ends the line `pos` is on (or the end of text)."""
    newline = text.find("\n", pos)
    return len(text) if newline < 0 else newline + 1


def merge(text: str, fresh: Mapping[str, str], order: Sequence[str], commit: str) -> str:
    """`text` with each section of `fresh` replaced in place (or added in `order`), and the
    commit line updated. Every other byte of `text` is kept: sections that are not in `fresh`,
    including ones this writer does not know, come out exactly as they went in."""
    original = text
    if not text.strip():
        text = HEADER
    for name, given in fresh.items():
        if _MARKER.search(given):
            raise SectionError(f"the body of {name} contains a section marker")
        body = given if given.endswith("\n") else given + "\n"
        spans = sections(text)
        if name in spans:
            start, end = spans[name]
            text = text[:start] + body + text[end:]
            continue
        block = f"<!-- bench:{name} -->\n{body}<!-- /bench:{name} -->\n"
        text = _insert(text, block, name, spans, order)
    text = _COMMIT_LINE.sub(f"Last written at commit `{commit}`.", text, count=1)
    _check_kept(original, text, fresh)
    return text


def _insert(
    text: str, block: str, name: str, spans: Mapping[str, tuple[int, int]], order: Sequence[str]
) -> str:
    """`block` after the last present section that comes before `name` in `order`, else before
    the first present section, else at the end."""
    position = order.index(name) if name in order else len(order)
    before = [n for n in order[:position] if n in spans]
    if before:
        at = _line_end(text, spans[before[-1]][1])
        return text[:at] + "\n" + block + text[at:]
    if spans:
        first = min(start for start, _ in spans.values())
        at = text.rfind("<!--", 0, first)
        return text[:at] + block + "\n" + text[at:]
    return text.rstrip("\n") + "\n\n" + block


def _check_kept(before: str, after: str, fresh: Mapping[str, str]) -> None:
    """Defence in depth: every section of `before` is still in `after`, unchanged unless it
    was re-run, and every re-run section is there."""
    old, new = sections(before), sections(after)
    lost = [name for name in [*old, *fresh] if name not in new]
    changed = [
        name
        for name, (start, end) in old.items()
        if name not in fresh and name in new and after[slice(*new[name])] != before[start:end]
    ]
    if lost or changed:
        raise SectionError(f"merge would lose {lost} and change {changed}; nothing written")


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
    if OUTPUT.exists():
        sections(OUTPUT.read_text())  # a broken file fails now, not after an hour of benchmarks
    for name in wanted:
        sys.stderr.write(f"running {name}...\n")
        module = importlib.import_module(SECTIONS[name])
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        load = os.getloadavg()[0]
        body = module.run().rstrip()
        # The machine may be shared: how busy it became during the run matters as much.
        after = os.getloadavg()[0]
        measured = (
            f"_Measured {stamp} on {machine()}; load average {load:.1f} at start, "
            f"{after:.1f} at the end._"
        )
        _write({name: f"{body}\n\n{measured}\n"})  # each section as soon as it is measured
    return 0


def _write(fresh: Mapping[str, str]) -> None:
    """Merge `fresh` sections into the file, read again under a lock: benchmarks run at the
    same time each keep their own sections, and a section nobody re-ran is kept as it is."""
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
        existing = OUTPUT.read_text() if OUTPUT.exists() else ""
        merged = merge(existing, fresh, list(SECTIONS), git or "uncommitted")
        temporary = OUTPUT.with_suffix(".md.tmp")
        temporary.write_text(merged)
        temporary.replace(OUTPUT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
