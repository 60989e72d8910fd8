"""shared/tracing.py on its own: context carried through headers and message attributes, the
spans file and its tree, and nothing imported while tracing is off."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared import tracing
from shared.settings import get_settings

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


@pytest.fixture
def spans_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "spans.jsonl"
    monkeypatch.setenv("FOCUS_TRACE_FILE", str(path))
    monkeypatch.setenv("FOCUS_TRACE_SAMPLE_RATIO", "1")
    get_settings.cache_clear()
    yield path
    tracing.shutdown()
    get_settings.cache_clear()


def test_a_trace_follows_headers_then_message_attributes(spans_file: Path) -> None:
    headers = {"Traceparent": f"00-{TRACE}-{PARENT}-01"}
    with tracing.server_span("syncFocusSessions", headers, None) as trace:
        assert trace == TRACE  # the log lines carry the caller's trace
        with tracing.span("firestore.commit", kind="client", writes=2):
            pass
        with tracing.span("pubsub.publish", kind="producer", topic="mirror-changes"):
            attributes = dict(tracing.inject({"kind": "changes"}))
    assert attributes["traceparent"].split("-")[1] == TRACE
    assert attributes["x-cloud-trace-context"].startswith(f"{TRACE}/")
    with tracing.server_span("mirrorChanges", attributes, "other", kind="consumer") as trace:
        assert trace == TRACE
        with tracing.span("postgresql.apply", kind="client", records=1):
            pass

    spans = {s["name"]: s for s in tracing.read_trace(spans_file, TRACE)}
    assert set(spans) == {
        "syncFocusSessions",
        "firestore.commit",
        "pubsub.publish",
        "mirrorChanges",
        "postgresql.apply",
    }
    assert spans["syncFocusSessions"]["parentSpanId"] == PARENT
    chain = ["syncFocusSessions", "pubsub.publish", "mirrorChanges", "postgresql.apply"]
    for parent, child in itertools.pairwise(chain):
        assert spans[child]["parentSpanId"] == spans[parent]["spanId"], child
    assert spans["firestore.commit"]["attributes"] == {"writes": 2}

    tree = tracing.render_tree(list(spans.values())).splitlines()
    # The caller's own span is not in the file: the callable is the root shown.
    assert [line.split(" (")[0] for line in tree] == [
        "syncFocusSessions",
        "  firestore.commit",
        "  pubsub.publish",
        "    mirrorChanges",
        "      postgresql.apply",
    ]


def test_google_trace_header_alone_is_followed(spans_file: Path) -> None:
    headers = {"X-Cloud-Trace-Context": f"{TRACE}/1;o=1"}
    with tracing.server_span("deliverPush", headers, None) as trace:
        assert trace == TRACE
    assert [s["name"] for s in tracing.read_trace(spans_file, TRACE)] == ["deliverPush"]


def test_an_unsampled_caller_records_nothing_but_logs_keep_its_trace(spans_file: Path) -> None:
    headers = {"traceparent": f"00-{TRACE}-{PARENT}-00"}
    with tracing.server_span("listSchedules", headers, None) as trace:
        assert trace == TRACE
        with tracing.span("firestore.commit"):
            pass
    assert tracing.read_trace(spans_file, TRACE) == []


def test_off_it_imports_no_opentelemetry_and_passes_the_trace_through() -> None:
    code = """
import sys
from shared import tracing
with tracing.server_span("bootstrapAccount", {"traceparent": "x"}, "abc") as trace:
    assert trace == "abc"
    with tracing.span("firestore.commit"):
        assert tracing.inject({}) == {}
assert not [m for m in sys.modules if m.startswith("opentelemetry")], "imported"
"""
    env = {"FOCUS_TRACE_SAMPLE_RATIO": "0", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stderr


def test_importing_the_functions_imports_no_opentelemetry() -> None:
    """The cold start pays for tracing only at the first traced request (benchmarks/)."""
    code = (
        "import sys, functions.main; "
        "assert not [m for m in sys.modules if m.startswith('opentelemetry')]"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stderr


def test_push_request_attributes_are_read_before_the_handler(spans_file: Path) -> None:
    del spans_file  # tracing on
    envelope = {"message": {"data": "", "attributes": {"traceparent": "00-ab-cd-01"}}}
    body = json.dumps(envelope).encode()
    assert tracing.pubsub_attributes(body) == {"traceparent": "00-ab-cd-01"}
    for malformed in (b"", b"[]", b"{}", b'{"message": {"attributes": 3}}', b"%%"):
        assert tracing.pubsub_attributes(malformed) == {}
