"""Collections moving to `sql_only` on the running stack, the way an operator and the apps see it:
`focusctl mirror phase set` (refused until `sql_primary` has settled), then syncFocusSessions over
HTTP keeps its cursor across the takeover, profile, schedule, device and session writes reach
PostgreSQL only (push plans stay in Firestore), and exportAccount and deleteAccount keep their
contract; and the way back: `phase set ... sql_primary`, the apps' next calls give their user
back to Firestore (cursors kept), `focusctl mirror give-back` takes the rest and devices, and
reconcile finds Firestore and SQL alike."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from devstack.stack import Stack
from shared.sql.schema import sqlalchemy_url
from tests.support import sync_payloads as payloads
from tests.support.auth import sign_up
from tests.support.callables import CallResult, FunctionsClient
from tests.support.waiting import wait_for

pytestmark = pytest.mark.stack

# The test stack has no phase cache (tests/conftest.py): the functions follow a phase set with
# focusctl from their next call on, and the settle time (twice the cache) is 0 unless given.


def session(sid: str, minute: int) -> dict[str, Any]:
    return payloads.session(sid, minute, label=f"edit {minute}", blockedApps=["com.example.feed"])


def test_sessions_move_to_sql_only_without_the_apps_noticing(
    clean_stack: Stack, functions_client: FunctionsClient, auth_host: str, db: Any
) -> None:
    from focusctl.cli import app

    assert clean_stack.config.phase_cache_s == 0
    engine = create_engine(sqlalchemy_url(clean_stack.postgres_dsn))

    def rows(query: str, **params: Any) -> list[Any]:
        with engine.connect() as conn:
            return list(conn.execute(text(query), params).all())

    def phase(*args: str, collections: tuple[str, ...] = ("sessions",)) -> Any:
        for collection in collections:
            result = CliRunner().invoke(app, ["mirror", "phase", "set", collection, *args])
            if result.exit_code != 0:
                return result
        return result

    user = sign_up(auth_host)
    token = user.id_token

    def sync(device: str, cursor: str | None, mutations: list[Any]) -> CallResult:
        data = {"deviceId": device, "cursor": cursor, "mutations": mutations}
        return functions_client.call("syncFocusSessions", data, token)

    try:
        boot = functions_client.call("bootstrapAccount", {"timezone": "Europe/Paris"}, token)
        assert boot.status == 200, boot.body
        phone = {"deviceId": "phone", "platform": "ios", "fcmToken": f"{user.uid}-phone"}
        assert functions_client.call("registerDevice", phone, token).status == 200
        first = sync(
            "phone",
            None,
            [
                {"mutationId": f"m{i}", "op": "upsert", "session": session(f"s{i}", i)}
                for i in range(3)
            ],
        )
        assert first.status == 200, first.body
        tablet = sync("tablet", None, [])
        assert len(tablet.result["changes"]) == 3
        sessions_in_sql = "SELECT id FROM focus_sessions WHERE user_id = :u ORDER BY id"
        wait_for(lambda: len(rows(sessions_in_sql, u=user.uid)) == 3, 30, "the mirror")

        everything = ("sessions", "users", "schedules", "devices")
        assert phase("sql_primary", collections=everything).exit_code == 0
        # Not before every instance follows sql_primary (a settle time no run can reach here).
        too_soon = phase("sql_only", "--settle-seconds", "600")
        assert too_soon.exit_code == 2 and "must be in place" in too_soon.output
        not_yet = phase("sql_only", collections=("devices",))
        assert not_yet.exit_code == 2 and "take-over-devices" in not_yet.output
        copied = CliRunner().invoke(app, ["mirror", "take-over-devices", "--no-progress"])
        assert copied.exit_code == 0, copied.output
        moved = phase("sql_only", collections=everything)
        assert moved.exit_code == 0, moved.output

        new_device = {"deviceId": "tablet", "platform": "android", "fcmToken": f"{user.uid}-tab"}
        assert functions_client.call("registerDevice", new_device, token).status == 200
        gone = functions_client.call("unregisterDevice", {"deviceId": "phone"}, token)
        assert gone.status == 200 and gone.result == {"removed": True}
        devices_in_sql = "SELECT id, fcm_token FROM devices WHERE user_id = :u ORDER BY id"
        assert rows(devices_in_sql, u=user.uid) == [("tablet", f"{user.uid}-tab")]
        in_firestore = db.collection("users").document(user.uid).collection("devices")
        assert [d.id for d in in_firestore.stream()] == ["phone"]  # no longer written

        moved_home = functions_client.call("bootstrapAccount", {"timezone": "Asia/Tokyo"}, token)
        assert moved_home.status == 200, moved_home.body
        assert moved_home.result["created"] is False
        profile = "SELECT timezone FROM users WHERE id = :u"
        assert rows(profile, u=user.uid) == [("Asia/Tokyo",)]
        user_doc = db.collection("users").document(user.uid).get().to_dict()
        assert user_doc["timezone"] == "Europe/Paris"  # Firestore no longer written
        block = {
            "id": "mornings",
            "name": "Deep work",
            "timezone": "Asia/Tokyo",
            "days": ["mon", "tue", "wed", "thu", "fri"],
            "start": "09:00",
            "end": "11:00",
            "blockedApps": [],
            "enabled": True,
            "updatedAt": "2026-11-22T09:40:00.000Z",
        }
        upserted = functions_client.call("upsertSchedule", {"schedule": block}, token)
        assert upserted.status == 200, upserted.body
        assert len(upserted.result["nextOccurrences"]) == 5
        listed = functions_client.call("listSchedules", {}, token)
        assert [s["id"] for s in listed.result["schedules"]] == ["mornings"]
        schedules = db.collection("users").document(user.uid).collection("schedules")
        assert list(schedules.stream()) == []  # in SQL only ...
        from google.cloud.firestore import FieldFilter

        mine = FieldFilter("uid", "==", user.uid)
        plans = db.collection("pushPlans").where(filter=mine).stream()
        assert [p.to_dict()["scheduleId"] for p in plans] == ["mornings"]  # ... plans stay

        edit = {"mutationId": "e", "op": "upsert", "session": session("s1", 30)}
        written = sync("phone", first.result["cursor"], [edit])
        assert written.status == 200, written.body
        assert written.result["applied"] == ["e"]
        # The tablet's cursor from before the move still works: it gets just the edit.
        pulled = sync("tablet", tablet.result["cursor"], [])
        assert pulled.status == 200, pulled.body
        assert [(c["id"], c["label"]) for c in pulled.result["changes"]] == [("s1", "edit 30")]

        feed = rows("SELECT sql_seq FROM session_feeds WHERE user_id = :u", u=user.uid)
        assert feed == [(2,)]  # SQL owns the feed and numbered the edit after Firestore's 1
        label = "SELECT label FROM focus_sessions WHERE user_id = :u AND id = 's1'"
        assert rows(label, u=user.uid) == [("edit 30",)]
        in_firestore = db.collection("users").document(user.uid).collection("sessions")
        assert in_firestore.document("s1").get().to_dict()["label"] == "edit 1"

        export = functions_client.call("exportAccount", {}, token)
        assert export.status == 200, export.body
        assert export.result["user"]["timezone"] == "Asia/Tokyo"
        assert [s["id"] for s in export.result["schedules"]] == ["mornings"]
        assert [d["deviceId"] for d in export.result["devices"]] == ["tablet"]
        assert {s["id"]: s["label"] for s in export.result["sessions"]} == {
            "s0": "edit 0",
            "s1": "edit 30",
            "s2": "edit 2",
        }
        deleted = functions_client.call("deleteAccount", {"confirm": True}, token)
        assert deleted.status == 200, deleted.body
        assert rows(sessions_in_sql, u=user.uid) == []
        assert rows(profile, u=user.uid) == []
        assert rows("SELECT 1 FROM schedules WHERE user_id = :u", u=user.uid) == []
        assert rows("SELECT 1 FROM session_feeds WHERE user_id = :u", u=user.uid) == []
        assert rows("SELECT 1 FROM sql_owners WHERE user_id = :u", u=user.uid) == []
        assert rows(devices_in_sql, u=user.uid) == []
        assert rows("SELECT 1 FROM fcm_tokens WHERE user_id = :u", u=user.uid) == []
    finally:
        # Back to the defaults for the tests after this one (no command does that: sql_only
        # cannot be left).
        db.collection("config").document("migration").delete()
        with engine.begin() as conn:  # and the devices' fence, which is global
            conn.execute(text("DELETE FROM mirror_state WHERE key = 'devices.takenOver'"))
        engine.dispose()


def test_collections_step_back_from_sql_only_without_the_apps_noticing(
    clean_stack: Stack, functions_client: FunctionsClient, auth_host: str, db: Any
) -> None:
    from focusctl.cli import app

    assert clean_stack.config.phase_cache_s == 0
    engine = create_engine(sqlalchemy_url(clean_stack.postgres_dsn))
    everything = ("sessions", "users", "schedules", "devices")

    def mirror(*args: str) -> Any:
        return CliRunner().invoke(app, ["mirror", *args])

    def phase_all(phase: str) -> None:
        for collection in everything:
            result = mirror("phase", "set", collection, phase)
            assert result.exit_code == 0, result.output

    user = sign_up(auth_host)
    token = user.id_token

    def call(name: str, data: dict[str, Any]) -> CallResult:
        result = functions_client.call(name, data, token)
        assert result.status == 200, (name, result.body)
        return result

    def sync(device: str, cursor: str | None, mutations: list[Any]) -> CallResult:
        return call(
            "syncFocusSessions", {"deviceId": device, "cursor": cursor, "mutations": mutations}
        )

    def upsert(sid: str, minute: int) -> dict[str, Any]:
        return {"mutationId": f"{sid}-{minute}", "op": "upsert", "session": session(sid, minute)}

    block = {
        "id": "mornings",
        "name": "Deep work",
        "timezone": "Europe/Paris",
        "days": ["mon"],
        "start": "09:00",
        "end": "11:00",
        "blockedApps": [],
        "enabled": True,
        "updatedAt": "2026-11-22T09:40:00.000Z",
    }
    try:
        call("bootstrapAccount", {"timezone": "Europe/Paris"})
        call(
            "registerDevice", {"deviceId": "phone", "platform": "ios", "fcmToken": f"{user.uid}-p"}
        )
        sync("phone", None, [upsert("s0", 0), upsert("s1", 1)])
        tablet = sync("tablet", None, [])
        wait_for(lambda: mirror("reconcile", "--users", user.uid).exit_code == 0, 30, "the mirror")
        phase_all("sql_primary")
        assert mirror("take-over-devices", "--no-progress").exit_code == 0
        phase_all("sql_only")
        # Writes that exist in SQL alone.
        call("bootstrapAccount", {"timezone": "Asia/Tokyo"})
        call("registerDevice", {"deviceId": "tablet", "platform": "android", "fcmToken": "t"})
        sync("phone", None, [upsert("s1", 30)])
        call("upsertSchedule", {"schedule": block})
        assert db.collection("users").document(user.uid).get().to_dict()["timezone"] == (
            "Europe/Paris"
        )

        phase_all("sql_primary")  # the step back
        not_yet = mirror("give-back", "sessions", "--no-progress", "--settle-seconds", "600")
        assert not_yet.exit_code == 2 and "must be in place" in not_yet.output

        # The apps' next calls give their user back to Firestore and carry on there.
        pulled = sync("tablet", tablet.result["cursor"], [])
        assert [(c["id"], c["label"]) for c in pulled.result["changes"]] == [("s1", "edit 30")]
        sessions = db.collection("users").document(user.uid).collection("sessions")
        assert sessions.document("s1").get().to_dict()["label"] == "edit 30"
        assert call("bootstrapAccount", {"timezone": "Asia/Tokyo"}).result["created"] is False
        assert db.collection("users").document(user.uid).get().to_dict()["timezone"] == (
            "Asia/Tokyo"
        )
        call(
            "upsertSchedule",
            {
                "schedule": {
                    **block,
                    "name": "Deeper work",
                    "updatedAt": ("2026-11-22T09:41:00.000Z"),
                }
            },
        )
        schedules = db.collection("users").document(user.uid).collection("schedules")
        assert [s.to_dict()["name"] for s in schedules.stream()] == ["Deeper work"]
        # Devices go back all at once, by the operator; the rest is swept the same way.
        for collection in everything:
            given = mirror("give-back", collection, "--no-progress")
            assert given.exit_code == 0 and "give-back finished" in given.output, given.output
        devices = db.collection("users").document(user.uid).collection("devices")
        assert sorted(d.id for d in devices.stream()) == ["phone", "tablet"]
        alike = mirror("reconcile", "--users", user.uid, "--json")
        assert alike.exit_code == 0, alike.output  # alike again

        phase_all("dual_write")
        latest = sync("phone", None, [upsert("s0", 40)])
        assert latest.result["applied"] == ["s0-40"]
        assert sessions.document("s0").get().to_dict()["label"] == "edit 40"
        label = "SELECT label FROM focus_sessions WHERE user_id = :u AND id = 's0'"

        def mirrored() -> bool:
            with engine.connect() as conn:
                return conn.execute(text(label), {"u": user.uid}).scalar() == "edit 40"

        wait_for(mirrored, 30, "the mirror after the step back")
    finally:
        db.collection("config").document("migration").delete()
        with engine.begin() as conn:
            conn.execute(
                text(
                    "DELETE FROM mirror_state WHERE key IN "
                    "('devices.takenOver', 'devices.givingBack')"
                )
            )
        engine.dispose()
