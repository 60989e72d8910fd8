"""One trace across the asynchronous hops, on the local stack (spans in its `trace_file`):
a sync call followed to its SQL row, read back with `focusctl trace show`. The scheduled push
followed to the FCM stand-in by its trace is in test_schedule_pushes.py (it waits for the clock
once for both)."""

from __future__ import annotations

import itertools
import secrets
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from devstack.stack import Stack
from shared.tracing import read_trace
from tests.support.auth import sign_up
from tests.support.callables import FunctionsClient
from tests.support.waiting import wait_for

pytestmark = pytest.mark.stack

_FOCUSCTL = (sys.executable, "-m", "focusctl.cli")


def _sql_session(dsn: str, uid: str, session_id: str) -> Any:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT id FROM focus_sessions WHERE user_id = %s AND id = %s", (uid, session_id)
        ).fetchone()
    return row


def test_a_sync_call_is_followed_to_its_sql_row_by_trace_id(
    clean_stack: Stack, functions_client: FunctionsClient, auth_host: str
) -> None:
    user = sign_up(auth_host)
    trace_id = secrets.token_hex(16)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    session = {
        "id": "traced",
        "startedAt": now,
        "status": "running",
        "updatedAt": now,
        "deviceId": "phone",
    }
    data = {
        "deviceId": "phone",
        "cursor": None,
        "mutations": [{"mutationId": "m1", "op": "upsert", "session": session}],
    }
    headers = {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
    synced = functions_client.call("syncFocusSessions", data, user.id_token, headers=headers)
    assert synced.status == 200, synced.body
    wait_for(lambda: _sql_session(clean_stack.postgres_dsn, user.uid, "traced"), 60, "the SQL row")

    def whole_trace() -> dict[str, dict[str, Any]] | None:
        spans = {s["name"]: s for s in read_trace(clean_stack.trace_file, trace_id)}
        return spans if "postgresql.apply" in spans else None

    spans = wait_for(whole_trace, 30, "the consumer's spans")
    chain = ["syncFocusSessions", "pubsub.publish", "mirrorChanges", "postgresql.apply"]
    for parent, child in itertools.pairwise(chain):
        assert spans[child]["parentSpanId"] == spans[parent]["spanId"], child
    commit = spans["firestore.commit"]
    assert commit["parentSpanId"] == spans["syncFocusSessions"]["spanId"]
    assert commit["end"] <= spans["pubsub.publish"]["start"]  # committed, then published
    assert spans["mirrorChanges"]["kind"] == "consumer"

    shown = subprocess.run(
        [*_FOCUSCTL, "trace", "show", trace_id, "--file", str(clean_stack.trace_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    names = [line.strip().split(" (")[0] for line in shown.stdout.splitlines()]
    for name in chain:
        assert name in names
    # Nested: each hop is indented under the one before.
    depth = {
        line.strip().split(" (")[0]: len(line) - len(line.lstrip())
        for line in shown.stdout.splitlines()
    }
    assert [depth[n] for n in chain] == sorted({depth[n] for n in chain})


def test_trace_show_says_when_a_trace_is_unknown(clean_stack: Stack) -> None:
    shown = subprocess.run(
        [*_FOCUSCTL, "trace", "show", "0" * 32, "--file", str(clean_stack.trace_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 1
    assert "no spans of trace" in shown.stderr
