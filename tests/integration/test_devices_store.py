"""The device store on the Firestore emulator: token ownership, the device limit, op counts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.changes import CollectingSink
from shared.devices.models import MAX_DEVICES_PER_USER, RegisterDeviceRequest, token_id
from shared.devices.repository import FirestoreDeviceStore
from shared.errors import ResourceExhausted
from shared.metering import metered
from shared.wire import parse

pytestmark = pytest.mark.stack

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


def req(device_id: str, token: str, platform: str = "android", **extra: Any) -> Any:
    data = {"deviceId": device_id, "platform": platform, "fcmToken": token, **extra}
    return parse(RegisterDeviceRequest, data)


def device_doc(db: Any, uid: str, device_id: str) -> dict[str, Any] | None:
    snap = db.collection("users").document(uid).collection("devices").document(device_id).get()
    return snap.to_dict() if snap.exists else None


def token_doc(db: Any, token: str) -> dict[str, Any] | None:
    snap = db.collection("fcmTokens").document(token_id(token)).get()
    return snap.to_dict() if snap.exists else None


@pytest.fixture
def sink() -> CollectingSink:
    return CollectingSink()


@pytest.fixture
def store(db: Any, sink: CollectingSink) -> FirestoreDeviceStore:
    return FirestoreDeviceStore(db, sink)


def test_register_then_register_again_costs_two_reads_and_no_write(
    db: Any, store: FirestoreDeviceStore, sink: CollectingSink
) -> None:
    with metered() as first:
        device = store.register("alice", req("p1", "tok-1", appVersion="1.0"), NOW, 20)
    # + count(); writes: the device, its token and the user's change marker
    assert first.as_dict() == {"reads": 3, "writes": 3, "deletes": 0}
    assert device.to_wire() == {
        "deviceId": "p1",
        "platform": "android",
        "appVersion": "1.0",
        "registeredAt": "2026-11-22T09:00:00.000Z",
    }
    stored = device_doc(db, "alice", "p1")
    assert stored is not None
    assert stored["fcmToken"] == "tok-1" and stored["tokenUpdatedAt"] == NOW
    assert token_doc(db, "tok-1") == {"uid": "alice", "deviceId": "p1", "token": "tok-1"}

    with metered() as again:
        store.register("alice", req("p1", "tok-1", appVersion="1.0"), LATER, 20)
    assert again.as_dict() == {"reads": 2, "writes": 0, "deletes": 0}

    # The mirror sees the device, never the token. The second call wrote nothing and
    # republished the stored version (it may be the retry of a call that died unpublished).
    record, republished = sink.records
    assert (record.collection, record.uid, record.id, record.op) == (
        "devices",
        "alice",
        "p1",
        "upsert",
    )
    assert record.data == device.to_wire()
    assert republished == record


def test_a_repaired_token_record_republishes_the_unchanged_device(
    db: Any, store: FirestoreDeviceStore, sink: CollectingSink
) -> None:
    store.register("alice", req("p1", "tok-1"), NOW, 20)
    db.collection("fcmTokens").document(token_id("tok-1")).delete()  # lost ownership record
    with metered() as ops:
        store.register("alice", req("p1", "tok-1"), LATER, 20)
    assert ops.as_dict() == {"reads": 2, "writes": 1, "deletes": 0}  # the token record only
    assert token_doc(db, "tok-1") == {"uid": "alice", "deviceId": "p1", "token": "tok-1"}
    first, again = sink.records
    assert again == first  # the device did not change: same version, same data


def test_an_app_update_keeps_registration_time_and_push_bookkeeping(
    db: Any, store: FirestoreDeviceStore
) -> None:
    store.register("alice", req("p1", "tok-1", appVersion="1.0"), NOW, 20)
    (stored,) = store.list_devices("alice")
    assert store.update_push_state("alice", "p1", {"pushBudget": 2}, stored.update_time)
    device = store.register("alice", req("p1", "tok-1", appVersion="2.0"), LATER, 20)
    assert device.registered_at == NOW
    (after,) = store.list_devices("alice")
    assert after.app_version == "2.0" and after.push_state == {"pushBudget": 2}
    assert after.token_updated_at == NOW


def test_a_rotated_token_replaces_the_old_one(db: Any, store: FirestoreDeviceStore) -> None:
    store.register("alice", req("p1", "tok-1"), NOW, 20)
    with metered() as ops:
        store.register("alice", req("p1", "tok-2"), LATER, 20)
    assert ops.as_dict() == {"reads": 3, "writes": 3, "deletes": 1}  # + the change marker
    assert token_doc(db, "tok-1") is None
    assert token_doc(db, "tok-2") == {"uid": "alice", "deviceId": "p1", "token": "tok-2"}
    stored = device_doc(db, "alice", "p1")
    assert stored is not None and stored["tokenUpdatedAt"] == LATER


def test_a_token_moves_between_devices_of_one_user(db: Any, store: FirestoreDeviceStore) -> None:
    store.register("alice", req("old-install", "tok-1"), NOW, 20)
    store.register("alice", req("new-install", "tok-1"), LATER, 20)
    old = device_doc(db, "alice", "old-install")
    assert old is not None and old["fcmToken"] is None  # keeps its record, loses the token
    assert token_doc(db, "tok-1") == {"uid": "alice", "deviceId": "new-install", "token": "tok-1"}
    holders = [d for d in store.list_devices("alice") if d.fcm_token == "tok-1"]
    assert [d.device_id for d in holders] == ["new-install"]


def test_a_phone_that_changed_hands_stops_getting_the_old_owners_pushes(
    db: Any, store: FirestoreDeviceStore, sink: CollectingSink
) -> None:
    store.register("alice", req("phone", "tok-1", platform="ios"), NOW, 20)
    with metered() as ops:
        store.register("bob", req("phone", "tok-1", platform="ios"), LATER, 20)
    # device + token doc + count(), then alice's device; writes: bob's device, token, alice's,
    # and both users' change markers.
    assert ops.as_dict() == {"reads": 4, "writes": 5, "deletes": 0}
    alice_phone = store.list_devices("alice")
    assert [(d.device_id, d.fcm_token) for d in alice_phone] == [("phone", None)]
    assert [d.fcm_token for d in store.list_devices("bob")] == ["tok-1"]
    assert token_doc(db, "tok-1") == {"uid": "bob", "deviceId": "phone", "token": "tok-1"}
    # alice's device changed too (a new version for the mirror), with its API fields only.
    assert {(r.uid, r.id) for r in sink.records[-2:]} == {("bob", "phone"), ("alice", "phone")}


def test_racing_registrations_of_one_token_leave_it_on_one_device(
    db: Any, store: FirestoreDeviceStore
) -> None:
    def register(i: int) -> None:
        store.register(f"user-{i}", req(f"dev-{i}", "contested"), NOW, 20)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(register, range(4)))
    owner = token_doc(db, "contested")
    assert owner is not None
    holders = [
        (f"user-{i}", f"dev-{i}")
        for i in range(4)
        if (device_doc(db, f"user-{i}", f"dev-{i}") or {}).get("fcmToken") == "contested"
    ]
    assert holders == [(owner["uid"], owner["deviceId"])]


def test_the_device_limit(db: Any, store: FirestoreDeviceStore) -> None:
    for i in range(MAX_DEVICES_PER_USER):
        store.register("alice", req(f"d{i:02d}", f"tok-{i}"), NOW, MAX_DEVICES_PER_USER)
    with pytest.raises(ResourceExhausted), metered() as ops:
        store.register("alice", req("one-too-many", "tok-x"), NOW, MAX_DEVICES_PER_USER)
    assert ops.as_dict() == {"reads": 3, "writes": 0, "deletes": 0}  # count() of 20: one read
    assert device_doc(db, "alice", "one-too-many") is None and token_doc(db, "tok-x") is None
    # Known devices still re-register, and a freed slot can be reused.
    store.register("alice", req("d00", "tok-new"), LATER, MAX_DEVICES_PER_USER)
    assert store.unregister("alice", "d01")
    store.register("alice", req("one-too-many", "tok-x"), LATER, MAX_DEVICES_PER_USER)
    assert store.count_devices("alice") == MAX_DEVICES_PER_USER


def test_unregister_removes_the_device_and_its_token(
    db: Any, store: FirestoreDeviceStore, sink: CollectingSink
) -> None:
    store.register("alice", req("p1", "tok-1"), NOW, 20)
    with metered() as ops:
        assert store.unregister("alice", "p1") is True
    assert ops.as_dict() == {"reads": 2, "writes": 1, "deletes": 2}  # + the change marker
    assert device_doc(db, "alice", "p1") is None and token_doc(db, "tok-1") is None
    deleted = sink.records[-1]
    assert deleted.op == "delete" and deleted.data is None
    assert deleted.version > sink.records[0].version
    # Unregistering what is gone republishes its absence (a retry heals a lost publish).
    assert store.unregister("alice", "p1") is False
    again = sink.records[-1]
    assert (again.id, again.op) == ("p1", "delete") and again.version >= deleted.version
    assert store.unregister("alice", "never-seen") is False
    assert (sink.records[-1].id, sink.records[-1].op) == ("never-seen", "delete")


def test_unregister_of_another_users_device_id_looks_unknown(
    db: Any, store: FirestoreDeviceStore
) -> None:
    store.register("alice", req("p1", "tok-1"), NOW, 20)
    assert store.unregister("mallory", "p1") is False
    assert device_doc(db, "alice", "p1") is not None and token_doc(db, "tok-1") is not None


def test_unregister_leaves_a_token_that_moved_elsewhere(
    db: Any, store: FirestoreDeviceStore
) -> None:
    store.register("alice", req("p1", "tok-1"), NOW, 20)
    store.register("bob", req("p9", "tok-1"), NOW, 20)
    assert store.unregister("alice", "p1")
    assert token_doc(db, "tok-1") == {"uid": "bob", "deviceId": "p9", "token": "tok-1"}


def test_clear_token_only_if_the_device_still_holds_it(
    db: Any, store: FirestoreDeviceStore
) -> None:
    store.register("alice", req("p1", "tok-1"), NOW, 20)
    store.register("alice", req("p1", "tok-2"), LATER, 20)
    assert store.clear_token("alice", "p1", "tok-1") is False  # FCM's answer came too late
    assert token_doc(db, "tok-2") is not None
    assert store.clear_token("alice", "p1", "tok-2") is True
    (device,) = store.list_devices("alice")
    assert device.fcm_token is None and token_doc(db, "tok-2") is None


def test_push_state_updates_are_guarded_by_the_version(store: FirestoreDeviceStore) -> None:
    store.register("alice", req("p1", "tok-1"), NOW, 20)
    (device,) = store.list_devices("alice")
    first = store.update_push_state("alice", "p1", {"pushSentAt": NOW}, device.update_time)
    assert first is not None and first > device.update_time
    assert store.update_push_state("alice", "p1", {"pushSentAt": LATER}, device.update_time) is None
    assert store.update_push_state("alice", "gone", {"pushX": 1}, device.update_time) is None
    with pytest.raises(ValueError):
        store.update_push_state("alice", "p1", {"fcmToken": None}, first)
    (after,) = store.list_devices("alice")
    assert after.push_state == {"pushSentAt": NOW} and after.update_time == first
