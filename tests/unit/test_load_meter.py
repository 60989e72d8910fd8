"""The load meter's reading of the functions log: the invocation lines and the bytes the
logging exclusion keeps, from a log written here (plain text, torn and foreign lines mixed in)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.load.meter import json_lines, kept_log_bytes, read_invocations


def _line(**fields: Any) -> bytes:
    return json.dumps(fields).encode() + b"\n"


CALL = _line(
    function="syncFocusSessions",
    outcome="ok",
    latencyMs=12.5,
    firestore={"reads": 3, "writes": 2, "deletes": 1},
    severity="INFO",
)
WARNING = _line(severity="WARNING", message="slow")
APPLIED = _line(severity="INFO", event="mirrorApplied")
DROPPED = _line(severity="INFO", event="something else")
NOISE = b"functions: listening on 5001\n{not json\n[1, 2]\n"


def test_the_invocations_and_the_kept_bytes_of_a_log(tmp_path: Path) -> None:
    log = tmp_path / "functions.log"
    torn = _line(function="listSchedules", latencyMs=4, firestore={"reads": 1})
    log.write_bytes(NOISE + CALL + WARNING + APPLIED + DROPPED + torn[:20])

    calls, offset = read_invocations(log)
    assert [(c.function, c.outcome, c.latency_ms, c.reads, c.writes, c.deletes) for c in calls] == [
        ("syncFocusSessions", "ok", 12.5, 3, 2, 1)
    ]
    assert offset == log.stat().st_size - 20  # the torn line is left for the next call
    assert kept_log_bytes(log, 0, offset) == len(WARNING) + len(APPLIED)

    with log.open("ab") as handle:  # the line is finished
        handle.write(torn[20:])
    later, end = read_invocations(log, offset)
    assert [(c.function, c.reads, c.writes) for c in later] == [("listSchedules", 1, 0)]
    assert end == log.stat().st_size
    assert read_invocations(tmp_path / "none.log", 7) == ([], 7)
    assert kept_log_bytes(tmp_path / "none.log", 0, 10) == 0


def test_json_lines_keep_each_line_whole_and_skip_what_is_not_an_object() -> None:
    assert list(json_lines(NOISE + WARNING + b"plain\n" + CALL)) == [
        (WARNING, json.loads(WARNING)),
        (CALL, json.loads(CALL)),
    ]
