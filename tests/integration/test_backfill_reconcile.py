"""`focusctl mirror backfill` and `focusctl mirror reconcile` on the emulator and PostgreSQL:
everything copied (tokens excepted), resumable after a crash, never overwriting newer rows;
drift reported with exit 1 and repaired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from focusctl.cli import app
from shared.changes import ChangeRecord
from shared.migration.tools.backfill import Backfill, BackfillOptions
from shared.sql.events import ChangeBatch
from shared.sql.store import SqlMirrorStore
from shared.sql.writes import MirrorWriter

pytestmark = pytest.mark.stack

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
UIDS = ["0alpha", "Gbeta", "ngamma", "zdelta", "user-x"]  # spread over the uid ranges


def seed(db: Any, sessions_per_user: int = 7) -> None:
    batch = db.batch()
    for n, uid in enumerate(UIDS):
        user = db.collection("users").document(uid)
        batch.set(user, {"uid": uid, "timezone": "UTC", "locale": None, "createdAt": T0})
        batch.set(
            user.collection("devices").document("d1"),
            {"platform": "ios", "appVersion": "1.0", "registeredAt": T0, "fcmToken": "tok-" + uid},
        )
        batch.set(
            user.collection("schedules").document("s1"),
            {
                "id": "s1",
                "name": "Morning",
                "timezone": "UTC",
                "days": ["mon"],
                "start": "09:00",
                "end": "10:00",
                "blockedApps": [],
                "enabled": True,
                "updatedAt": T0,
                "revision": 1,
            },
        )
        for i in range(sessions_per_user):
            sid = f"s{i}" if i else "__odd__"
            doc_id = "~__odd__" if not i else sid
            batch.set(
                user.collection("sessions").document(doc_id),
                {
                    "id": sid,
                    "startedAt": T0,
                    "status": "running",
                    "label": None,
                    "blockedApps": ["a"],
                    "updatedAt": T0 + timedelta(minutes=i),
                    "deviceId": "d1",
                    "deleted": False,
                    "serverUpdatedAt": T0,
                    "syncSeq": i + 1,
                },
            )
        batch.set(
            user.collection("syncState").document("sessions"),
            {"seq": sessions_per_user + n, "updatedAt": T0},
        )
        batch.commit()
        batch = db.batch()


def count(stack_engine: Engine, table: str) -> int:
    with stack_engine.connect() as conn:
        return int(conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one())


class CrashingWriter(MirrorWriter):
    """A writer whose process "dies" after `pages` bulk writes."""

    def __init__(self, stack_engine: Engine, pages: int) -> None:
        super().__init__(stack_engine)
        self.left = pages

    def bulk_upsert(self, records: Any, *, chunk_size: int = 1000) -> Any:
        if self.left == 0:
            raise KeyboardInterrupt("killed")
        self.left -= 1
        return super().bulk_upsert(records, chunk_size=chunk_size)


class CrashAfter(SqlMirrorStore):
    """A store whose process "dies" after `pages` bulk writes."""

    def __init__(self, stack_engine: Engine, pages: int) -> None:
        super().__init__(stack_engine)
        self.writer = CrashingWriter(stack_engine, pages)


def test_backfill_copies_everything_but_tokens_and_resumes_after_a_crash(
    db: Any, stack_engine: Engine
) -> None:
    seed(db)
    options = BackfillOptions(partitions=3, page_size=4)
    with pytest.raises(KeyboardInterrupt):
        Backfill(db, CrashAfter(stack_engine, pages=4), options).run()
    tables = ("users", "devices", "schedules", "focus_sessions")
    copied_before = sum(count(stack_engine, t) for t in tables)
    assert 0 < copied_before < 50  # it died part of the way through

    result = CliRunner().invoke(
        app, ["mirror", "backfill", "--partitions", "3", "--page-size", "4", "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert "resumed partitions" in result.output
    assert count(stack_engine, "users") == 5 and count(stack_engine, "devices") == 5
    assert count(stack_engine, "schedules") == 5 and count(stack_engine, "focus_sessions") == 35
    with stack_engine.connect() as conn:
        # Tokens reach SQL only when devices move to sql_only (test_sql_devices.py).
        tokens = conn.execute(text("SELECT count(fcm_token) FROM devices")).scalar_one()
        assert tokens == 0
        assert conn.execute(text("SELECT count(*) FROM fcm_tokens")).scalar_one() == 0
        odd = conn.execute(
            text("SELECT sync_seq FROM focus_sessions WHERE user_id='0alpha' AND id='__odd__'")
        ).scalar_one()
        assert odd == 1
    store = SqlMirrorStore(stack_engine)
    assert [store.feeds.feed_watermark(uid) for uid in UIDS] == [7, 8, 9, 10, 11]


def test_backfill_never_overwrites_a_newer_row(db: Any, stack_engine: Engine) -> None:
    seed(db, sessions_per_user=1)
    store = SqlMirrorStore(stack_engine)
    newer = ChangeRecord(
        collection="users",
        uid="zdelta",
        id="zdelta",
        op="upsert",
        version=2**62,  # written live, after the backfill's read
        data={"uid": "zdelta", "timezone": "Asia/Tokyo", "createdAt": T0},
    )
    store.writer.apply(ChangeBatch(records=[newer], emitted_at=T0))
    result = CliRunner().invoke(
        app, ["mirror", "backfill", "--collections", "users", "--restart", "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert store.reads.get_user("zdelta") is not None
    assert store.reads.get_user("zdelta")["timezone"] == "Asia/Tokyo"  # type: ignore[index]


def test_reconcile_reports_drift_and_repairs_it(db: Any, stack_engine: Engine) -> None:
    seed(db, sessions_per_user=3)
    runner = CliRunner()
    assert runner.invoke(app, ["mirror", "backfill", "--no-progress"]).exit_code == 0
    users = ",".join(UIDS)
    clean = runner.invoke(app, ["mirror", "reconcile", "--users", users, "--no-progress"])
    assert clean.exit_code == 0, clean.output
    assert "no drift" in clean.output

    with stack_engine.begin() as conn:  # drift of every kind
        conn.execute(text("DELETE FROM users WHERE id = '0alpha'"))  # missing
        conn.execute(
            text("UPDATE schedules SET source_version = source_version - 1 WHERE user_id='Gbeta'")
        )  # stale
        conn.execute(
            text(
                "UPDATE focus_sessions SET label = 'tampered', content_hash = 'x' "
                "WHERE user_id = 'ngamma' AND id = 's1'"
            )
        )  # content
        conn.execute(
            text(
                "INSERT INTO devices (user_id, id, platform, registered_at, source_version, "
                "content_hash) VALUES ('zdelta', 'ghost', 'ios', now(), 1, 'h')"
            )
        )  # extra
    report = runner.invoke(app, ["mirror", "reconcile", "--users", users, "--no-progress"])
    assert report.exit_code == 1, report.output
    for kind in ("missing", "stale", "content", "extra"):
        assert kind in report.output
    repaired = runner.invoke(
        app, ["mirror", "reconcile", "--users", users, "--repair", "--no-progress"]
    )
    assert repaired.exit_code == 0, repaired.output
    again = runner.invoke(app, ["mirror", "reconcile", "--sample", "10", "--no-progress"])
    assert again.exit_code == 0, again.output
    with stack_engine.connect() as conn:
        label = conn.execute(
            text("SELECT label FROM focus_sessions WHERE user_id='ngamma' AND id='s1'")
        ).scalar_one()
    assert label is None


def test_the_nightly_sample_job_logs_a_drift_metric(db: Any, stack_engine: Engine) -> None:
    """What the scheduled sample job runs (infra/modules/jobs), as a process: the metric line
    on stdout, where Cloud Logging reads it from the job's task."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    seed(db, sessions_per_user=1)  # nothing mirrored: everything is missing
    args = ["mirror", "reconcile", "--sample", "10", "--log-metric", "--no-progress"]
    done = subprocess.run(
        [sys.executable, "-m", "focusctl.cli", *args],
        cwd=Path(__file__).resolve().parents[2],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,  # exit 1 is the finding
    )
    assert done.returncode == 1, done.stderr
    lines = [line for line in done.stdout.splitlines() if '"metric": "mirrorDrift"' in line]
    assert len(lines) == 1, done.stdout
    metric = json.loads(lines[0])
    assert metric["users"] == 5
    assert metric["drift"]["missing"] == 5 * 4


def test_a_scheduled_pass_exits_0_on_drift_it_reported_and_non_zero_when_it_fails(
    db: Any, stack_engine: Engine
) -> None:
    """The jobs' `--no-fail-on-drift`: Cloud Run retries a task on any non-zero exit, so a
    completed pass that logged its drift exits 0; one that could not run still fails."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from devstack.process import free_port

    seed(db, sessions_per_user=1)  # nothing mirrored: everything is missing
    args = ["mirror", "reconcile", "--sample", "10", "--log-metric", "--no-progress"]

    def job(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "focusctl.cli", *args, "--no-fail-on-drift"],
            cwd=Path(__file__).resolve().parents[2],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    reported = job(dict(os.environ))
    assert reported.returncode == 0, reported.stderr
    [line] = [line for line in reported.stdout.splitlines() if '"metric": "mirrorDrift"' in line]
    assert '"missing": 20' in line

    dsn = os.environ["FOCUS_POSTGRES_DSN"]
    port = dsn.rsplit("@", 1)[1].split("/", 1)[0].rsplit(":", 1)[1]
    gone = dsn.replace(f":{port}/", f":{free_port()}/")  # nothing listens there
    failed = job({**os.environ, "FOCUS_POSTGRES_DSN": gone})
    assert failed.returncode == 2, failed.stderr  # what Cloud Run retries
    assert "error:" in failed.stderr

    alone = ["mirror", "reconcile", "--sample", "10", "--no-progress", "--no-fail-on-drift"]
    unreported = CliRunner().invoke(app, alone)
    assert unreported.exit_code == 2  # drift nobody would hear of: refused
