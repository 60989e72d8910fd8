"""The reconcile passes at scale on the emulator and PostgreSQL: the incremental pass finds the
users whose feed head moved since the last clean pass (and nothing else), the full pass every
user, resumably; backfill and reconcile as K task processes give what one process gives."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from focusctl.cli import app
from shared.changes import CHANGE_SHARDS, change_shard
from shared.metering import metered
from shared.migration.tools.jobs import Task
from shared.migration.tools.passes import Passes, PassOptions, full_key
from shared.migration.tools.reconcile import FirestoreUsers, Reconciler
from shared.sql.store import SqlMirrorStore
from tests.fixtures.postgres import empty_mirror_tables
from tests.integration.test_backfill_reconcile import UIDS, seed

pytestmark = pytest.mark.stack
ROOT = Path(__file__).resolve().parents[2]


def commit(db: Any, uid: str) -> None:
    """What a sessions commit does to the feed head: a new `updatedAt` and the user's shard."""
    from google.cloud.firestore import SERVER_TIMESTAMP, Increment

    head = db.collection("users").document(uid).collection("syncState").document("sessions")
    head.set(
        {"seq": Increment(1), "updatedAt": SERVER_TIMESTAMP, "shard": change_shard(uid)},
        merge=True,
    )


def seeded(db: Any) -> None:
    seed(db, sessions_per_user=3)
    for uid in UIDS:
        commit(db, uid)
    assert CliRunner().invoke(app, ["mirror", "backfill", "--no-progress"]).exit_code == 0


def reconcile(*args: str) -> Any:
    return CliRunner().invoke(app, ["mirror", "reconcile", "--no-progress", "--json", *args])


def incremental(stack_engine: Engine, repair: bool = False) -> Any:
    from shared.clients import firestore_client

    db = firestore_client()
    store = SqlMirrorStore(stack_engine)
    passes = Passes(db, store, Reconciler(FirestoreUsers(db), store, workers=2))
    with metered() as reads:
        report = passes.incremental(PassOptions(repair=repair))
    return report, reads.reads


def test_the_incremental_pass_reads_what_changed_and_catches_each_drift(
    db: Any, stack_engine: Engine
) -> None:
    seeded(db)
    first, _ = incremental(stack_engine)  # no watermark yet: every head
    assert first.users == len(UIDS) and first.clean
    quiet, reads = incremental(stack_engine)
    assert quiet.users == 0
    assert reads == CHANGE_SHARDS  # one empty query per shard, nothing else

    with stack_engine.begin() as conn:  # drift of every kind, in users who then commit
        conn.execute(text("DELETE FROM focus_sessions WHERE user_id='0alpha' AND id='s1'"))
        conn.execute(
            text(
                "UPDATE focus_sessions SET source_version = source_version - 1 "
                "WHERE user_id='Gbeta' AND id='s2'"
            )
        )
        conn.execute(
            text(
                "UPDATE focus_sessions SET label = 'tampered', content_hash = 'x' "
                "WHERE user_id = 'ngamma' AND id = 's1'"
            )
        )
        conn.execute(
            text(
                "INSERT INTO devices (user_id, id, platform, registered_at, source_version, "
                "content_hash) VALUES ('zdelta', 'ghost', 'ios', now(), 1, 'h')"
            )
        )
    for uid in ("0alpha", "Gbeta", "ngamma", "zdelta"):
        commit(db, uid)
    found, reads = incremental(stack_engine)
    assert sorted(r.uid for r in found.results) == ["0alpha", "Gbeta", "ngamma", "zdelta"]
    assert found.counts() == {"content": 1, "extra": 1, "missing": 1, "stale": 1}
    # Per changed user: its head (query) and its documents; per quiet shard one empty query.
    per_user = 1 + 1 + 1 + 3 + 1  # head read, profile, device, sessions, schedule
    assert reads <= CHANGE_SHARDS + 4 * (1 + per_user)

    again, _ = incremental(stack_engine)  # drift left: the watermark stayed, they are seen again
    assert again.users >= 4 and not again.clean
    result = reconcile("--repair")
    assert result.exit_code == 0, result.output
    after, _ = incremental(stack_engine)
    assert after.users == 0 and after.clean


def _lost_write(db: Any, kind: str) -> tuple[str, str]:
    """A real write path's commit whose mirror event is lost (published to a sink nobody
    reads): (the user it wrote, the drift it leaves in SQL)."""
    from datetime import UTC, datetime

    from shared.accounts.repository import FirestoreAccountStore
    from shared.changes import CollectingSink
    from shared.devices.models import RegisterDeviceRequest
    from shared.devices.repository import FirestoreDeviceStore
    from shared.schedules.models import UpsertScheduleRequest
    from shared.schedules.repository import FirestoreScheduleStore, decide_upsert
    from shared.wire import parse

    lost = CollectingSink()
    now = datetime.now(UTC)
    if kind == "device":
        body = {"deviceId": "d2", "platform": "android", "fcmToken": "tok-new"}
        request = parse(RegisterDeviceRequest, body)
        FirestoreDeviceStore(db, lost).register("0alpha", request, now, 20)
        return "0alpha", "missing"
    if kind == "device-delete":
        assert FirestoreDeviceStore(db, lost).unregister("Gbeta", "d1")
        return "Gbeta", "extra"
    if kind in ("schedule", "schedule-delete"):
        store = FirestoreScheduleStore(db, lost)
        if kind == "schedule-delete":
            assert store.delete("ngamma", "s1") is not None
            return "ngamma", "extra"
        block = {
            "id": "s9",
            "name": "Evening",
            "timezone": "UTC",
            "days": ["fri"],
            "start": "18:00",
            "end": "19:00",
            "blockedApps": [],
            "enabled": True,
            "updatedAt": "2026-06-15T05:59:00.000Z",
        }
        schedule = parse(UpsertScheduleRequest, {"schedule": block}).schedule
        store.save("zdelta", "s9", decide_upsert(schedule, now), now)
        return "zdelta", "missing"
    assert kind == "profile"

    def plan(existing: Any) -> tuple[Any, bool, bool]:
        return existing.model_copy(update={"timezone": "Asia/Tokyo"}), False, True

    FirestoreAccountStore(db, lost).save_profile("user-x", plan)
    return "user-x", "stale"


@pytest.mark.parametrize(
    "kind", ["device", "device-delete", "schedule", "schedule-delete", "profile"]
)
def test_a_lost_write_on_any_collection_is_found_by_the_next_incremental_pass(
    db: Any, stack_engine: Engine, kind: str
) -> None:
    seeded(db)
    clean, _ = incremental(stack_engine)
    assert clean.users == len(UIDS) and clean.clean
    uid, drift = _lost_write(db, kind)  # moves no feed head: only the user's change marker
    found, _ = incremental(stack_engine)
    assert [r.uid for r in found.results] == [uid]
    assert found.counts() == {drift: 1}
    repaired, _ = incremental(stack_engine, repair=True)
    assert repaired.clean
    after = reconcile("--incremental")  # what the scheduled job and `make dev`'s operator run
    assert after.exit_code == 0 and '"users": 0' in after.output, after.output


def test_a_purged_tombstone_whose_delete_was_lost_is_found_by_the_next_incremental_pass(
    db: Any, stack_engine: Engine
) -> None:
    from datetime import UTC, datetime, timedelta

    from shared.changes import CollectingSink
    from shared.sessions.repository import FirestoreSessionStore

    seeded(db)
    now = datetime.now(UTC)
    tombstone = db.collection("users").document("Gbeta").collection("sessions").document("s2")
    tombstone.update({"deleted": True, "purgeAt": now - timedelta(days=1)})
    assert reconcile("--all", "--repair").exit_code == 0  # the tombstone is in SQL too
    assert incremental(stack_engine)[0].clean
    purged = FirestoreSessionStore(db, CollectingSink()).purge_expired(now, 10.0)
    assert purged.purged == 1
    found, _ = incremental(stack_engine)
    assert [r.uid for r in found.results] == ["Gbeta"]
    assert found.counts() == {"extra": 1}


def test_the_full_pass_sees_what_no_commit_shows_and_resumes(db: Any, stack_engine: Engine) -> None:
    seeded(db)
    assert reconcile().exit_code == 0  # the incremental pass's watermarks: all seen, clean
    with stack_engine.begin() as conn:  # changed by hand in SQL: no feed head moves
        conn.execute(text("UPDATE users SET timezone = 'Asia/Tokyo', content_hash = 'x'"))
        conn.execute(
            text(
                'INSERT INTO schedules (user_id, id, name, timezone, days, start, "end", '
                "blocked_apps, enabled, updated_at, revision, source_version, content_hash) "
                "SELECT 'gone-user', 's1', name, timezone, days, start, \"end\", blocked_apps, "
                "enabled, updated_at, revision, source_version, content_hash FROM schedules "
                "LIMIT 1"
            )
        )  # a user Firestore no longer has
    assert reconcile().exit_code == 0  # the incremental pass cannot see it

    store = SqlMirrorStore(stack_engine)
    passes = Passes(db, store, Reconciler(FirestoreUsers(db), store, workers=2))
    first = passes.full(PassOptions(task=Task(0, 2), page_size=2), partitions=4)
    # Task 0 of 2 took ranges 0 and 2; 1 and 3 are task 1's share, not run yet.
    states = [store.state.get(full_key(4, index)) for index in range(4)]
    assert [bool(state and state["done"]) for state in states] == [True, False, True, False]
    assert states[2]["after"] == first.results[-1].uid  # type: ignore[index]
    result = reconcile("--all", "--partitions", "4")  # resumes: only task 1's ranges left
    assert result.exit_code == 1, result.output
    seen = {r.uid for r in first.results} | set(_json_uids(result.output))
    assert seen == {*UIDS, "gone-user"}

    whole = reconcile("--all", "--partitions", "4", "--restart", "--repair")
    assert whole.exit_code == 0, whole.output
    assert '"content": 5' in whole.output and '"extra": 1' in whole.output
    assert reconcile("--all", "--partitions", "4", "--restart").exit_code == 0


def _mark(db: Any, uid: str) -> None:
    """The change marker a profile, device or schedule write leaves (`syncState/changes`)."""
    from google.cloud.firestore import SERVER_TIMESTAMP

    marker = db.collection("users").document(uid).collection("syncState").document("changes")
    marker.set({"shard": change_shard(uid), "updatedAt": SERVER_TIMESTAMP})


def test_the_full_pass_reads_each_document_once(db: Any, stack_engine: Engine) -> None:
    seeded(db)  # per user: profile, device, schedule, 3 sessions, feed head
    marked = sorted(UIDS)[:3]
    for uid in marked:
        _mark(db, uid)
    documents = len(UIDS) * 7 + len(marked)
    store = SqlMirrorStore(stack_engine)
    with stack_engine.begin() as conn:  # what a clean, repairing pass must set again
        conn.execute(text("UPDATE session_feeds SET complete_seq = 0"))
    heads = {
        uid: db.document(f"users/{uid}/syncState/sessions").get().to_dict()["seq"] for uid in UIDS
    }
    passes = Passes(db, store, Reconciler(FirestoreUsers(db), store, workers=2))

    with metered() as one_page:
        report = passes.full(PassOptions(), partitions=1, restart=True)
    assert report.users == len(UIDS) and report.clean
    # The listing's profiles and syncState documents are the page's: nothing is read twice.
    assert one_page.reads == documents

    # Pages of 3: the first listing of syncState ends on the second user's marker, before its
    # head, which the page then reads alone.
    with metered() as small_pages:
        report = passes.full(PassOptions(repair=True, page_size=3), partitions=1, restart=True)
    assert report.users == len(UIDS) and report.clean
    assert {uid: store.feeds.feed_watermark(uid) for uid in UIDS} == heads
    # Each page's listing reads the profiles and syncState documents of the next page too.
    assert documents < small_pages.reads < documents + 20


def _json_uids(output: str) -> list[str]:
    import json

    body = json.loads(output[output.index("{\n") :])  # the report, after any log lines
    return [d["uid"] for d in body["drifts"]]


def _tables(stack_engine: Engine) -> dict[str, list[Any]]:
    """What a backfill wrote, without the times it wrote it at (`mirrored_at`, `updated_at`)."""
    queries = {
        "users": "SELECT id, source_version, content_hash FROM users ORDER BY 1",
        "session_feeds": "SELECT user_id, complete_seq, backfill_seq FROM session_feeds ORDER BY 1",
        **{
            table: f"SELECT user_id, id, source_version, content_hash FROM {table} ORDER BY 1, 2"
            for table in ("devices", "schedules", "focus_sessions")
        },
    }
    with stack_engine.connect() as conn:
        return {
            name: [tuple(r) for r in conn.execute(text(q)).all()] for name, q in queries.items()
        }


def _tasks(count: int, *args: str) -> list[subprocess.CompletedProcess[str]]:
    """`focusctl` as `count` concurrent processes, with Cloud Run's task variables."""
    running = [
        subprocess.Popen(
            [sys.executable, "-m", "focusctl.cli", *args],
            cwd=ROOT,
            env={**os.environ, "CLOUD_RUN_TASK_INDEX": str(i), "CLOUD_RUN_TASK_COUNT": str(count)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(count)
    ]
    done = []
    for process in running:
        out, err = process.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return done


def test_k_task_processes_equal_one_process(db: Any, stack_engine: Engine) -> None:
    seed(db, sessions_per_user=5)
    backfill = ["mirror", "backfill", "--partitions", "4", "--page-size", "3", "--no-progress"]
    assert CliRunner().invoke(app, backfill).exit_code == 0
    single = _tables(stack_engine)
    empty_mirror_tables(stack_engine)

    for task in _tasks(3, *backfill):
        assert task.returncode == 0, task.stderr
    assert _tables(stack_engine) == single

    with stack_engine.begin() as conn:
        conn.execute(text("DELETE FROM focus_sessions WHERE id = 's2'"))
    check = ["mirror", "reconcile", "--all", "--partitions", "4", "--no-progress", "--json"]
    tasks = _tasks(2, *check, "--log-metric")
    assert [t.returncode for t in tasks] == [1, 1]  # each task found its users' drift
    assert sum(_json_uids(t.stdout).count(uid) for t in tasks for uid in UIDS) == len(UIDS)
    metrics = [_metric(t.stdout) for t in tasks]  # what Cloud Logging gets, one line per task
    assert sum(m["driftedUsers"] for m in metrics) == len(UIDS)


def _metric(output: str) -> Any:
    import json

    metric = '"metric": "mirrorDrift"'
    lines = [line for line in output.splitlines() if line.startswith("{") and metric in line]
    assert len(lines) == 1, output
    return json.loads(lines[0])


def test_a_real_sessions_commit_is_found_by_its_shard(db: Any) -> None:
    from shared.changes import CollectingSink
    from shared.migration.tools.passes import Watermark, changed_heads
    from shared.sessions.models import SyncFocusSessionsRequest
    from shared.sessions.repository import FirestoreSessionStore
    from shared.sessions.service import sync_focus_sessions
    from shared.wire import parse
    from tests.support import sync_payloads as payloads

    store = FirestoreSessionStore(db, CollectingSink())

    def sync(uid: str, sid: str) -> None:
        body = {"deviceId": "phone", "cursor": None, "limit": 10}
        body["mutations"] = [payloads.upsert(f"m-{sid}", sid, 0, "phone")]
        sync_focus_sessions(store, uid, parse(SyncFocusSessionsRequest, body))

    def found(after: Watermark) -> list[tuple[str, Watermark]]:
        shard = change_shard("0alpha")
        return [head for page in changed_heads(db, shard, after, 10) for head in page]

    sync("0alpha", "s1")
    [(uid, position)] = found(Watermark())
    assert uid == "0alpha" and position.path == "users/0alpha/syncState/sessions"
    assert found(position) == []
    sync("0alpha", "s2")  # the next commit moves the head past the watermark
    [(_, later)] = found(position)
    assert later.at > position.at
