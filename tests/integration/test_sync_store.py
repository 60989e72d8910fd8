"""Sessions sync on the Firestore emulator: billed operations per call, stored documents, change
records, paging inside one commit, concurrency, and the tombstone purge."""

from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.changes import CollectingSink
from shared.errors import Conflict
from shared.fs import version_of
from shared.metering import OpCount, metered
from shared.sessions.cursor import decode_cursor
from shared.sessions.models import SyncFocusSessionsRequest
from shared.sessions.repository import FirestoreSessionStore
from shared.sessions.service import purge_tombstones, sync_focus_sessions
from shared.wire import parse
from tests.support import sync_payloads as payloads
from tests.support.sync_payloads import T0, stamp
from tests.support.sync_payloads import delete as rm

pytestmark = pytest.mark.stack

RICH: dict[str, Any] = {
    "plannedEndAt": stamp(-30),
    "label": "deep work",
    "blockedApps": ["com.example.social", "com.example.video"],
}


def session(sid: str, minute: int = 0, device: str = "phone", **extra: Any) -> dict[str, Any]:
    """A session with a label and blocked apps, so stored documents carry every field."""
    return payloads.session(sid, minute, device, **{**RICH, **extra})


def up(mid: str, sid: str, minute: int = 0, device: str = "phone", **extra: Any) -> dict[str, Any]:
    return payloads.upsert(mid, sid, minute, device, **{**RICH, **extra})


class Client:
    """One device of one user, calling the service in-process and counting operations."""

    def __init__(self, store: FirestoreSessionStore, uid: str, device: str = "phone") -> None:
        self.store, self.uid, self.device = store, uid, device
        self.cursor: str | None = None
        self.ops = OpCount()

    def sync(
        self, mutations: list[dict[str, Any]] | None = None, limit: int = 200, keep: bool = True
    ) -> dict[str, Any]:
        request = parse(
            SyncFocusSessionsRequest,
            {
                "deviceId": self.device,
                "cursor": self.cursor,
                "mutations": mutations or [],
                "limit": limit,
            },
        )
        with metered() as ops:
            answer: dict[str, Any] = sync_focus_sessions(self.store, self.uid, request).to_wire()
        self.ops = ops
        if keep:
            self.cursor = answer["cursor"]
        return answer

    def drain(self, limit: int = 200) -> list[dict[str, Any]]:
        changes: list[dict[str, Any]] = []
        for _ in range(1000):
            answer = self.sync(limit=limit)
            changes += answer["changes"]
            if not answer["hasMore"]:
                return changes
        raise AssertionError("hasMore never became false")


@pytest.fixture
def sink() -> CollectingSink:
    return CollectingSink()


@pytest.fixture
def store(db: Any, sink: CollectingSink) -> FirestoreSessionStore:
    return FirestoreSessionStore(db, sink)


def new_uid() -> str:
    return f"u-{uuid.uuid4().hex[:12]}"


def ops(client: Client) -> tuple[int, int]:
    return client.ops.reads, client.ops.billed_writes


# -- cost --------------------------------------------------------------------------------------


def test_operation_counts_follow_what_changed(store: FirestoreSessionStore) -> None:
    uid = new_uid()
    phone, tablet = Client(store, uid), Client(store, uid, "tablet")

    phone.sync()
    assert ops(phone) == (1, 0)  # empty pull: the feed head only

    twenty = [up(f"m{i}", f"s{i:02d}") for i in range(20)]
    pushed = phone.sync(twenty)
    assert len(pushed["changes"]) == 20  # own writes answered without reading them back
    assert ops(phone) == (21, 21)  # 20 sessions + head read; 20 sessions + head written

    phone.sync()
    assert ops(phone) == (1, 0)

    tablet.drain()
    assert ops(tablet) == (21, 0)  # head + 20 changed sessions

    for k in (1, 7, 30):
        phone.sync([up(f"k{k}-{i}", f"k{k}-{i}") for i in range(k)])
        assert ops(phone) == (k + 1, k + 1)
        changes = tablet.drain()
        assert len(changes) == k
        assert ops(tablet) == (k + 1, 0)  # O(k), not O(all sessions)
        tablet.sync()
        assert ops(tablet) == (1, 0)  # O(1) with nothing new


def test_replays_and_lost_mutations_write_nothing(store: FirestoreSessionStore) -> None:
    uid = new_uid()
    phone, tablet = Client(store, uid), Client(store, uid, "tablet")
    batch = [up(f"m{i}", f"s{i:02d}") for i in range(20)]
    before = phone.cursor
    phone.sync(batch)

    phone.cursor = before  # the answer was lost: same request again
    replay = phone.sync(batch)
    assert replay["applied"] == [m["mutationId"] for m in batch]
    assert ops(phone) == (41, 0)  # 20 sessions + head, then the 20 changes from the old cursor
    phone.sync(batch)
    assert ops(phone) == (21, 0)  # with the new cursor nothing comes back

    tablet.drain()
    mixed = [
        up(f"t{i}", f"s{i:02d}", minute=5 if i < 5 else -5, device="tablet") for i in range(10)
    ]
    answer = tablet.sync(mixed)
    assert ops(tablet) == (11, 6)  # five newer edits + head; five older ones write nothing
    assert len(answer["changes"]) == 10  # the five winners of the lost edits come back too


def test_pages_cost_their_size_plus_one(store: FirestoreSessionStore) -> None:
    uid = new_uid()
    phone, tablet = Client(store, uid), Client(store, uid, "tablet")
    phone.sync([up(f"m{i}", f"s{i:03d}") for i in range(100)])
    pages: list[tuple[int, int]] = []
    seen: list[str] = []
    for _ in range(10):
        answer = tablet.sync(limit=30)
        seen += [c["id"] for c in answer["changes"]]
        pages.append(ops(tablet))
        if not answer["hasMore"]:
            break
    assert seen == [f"s{i:03d}" for i in range(100)]
    assert pages == [(32, 0), (32, 0), (32, 0), (11, 0)]


# -- documents and records ---------------------------------------------------------------------


def test_stored_documents_and_change_records(
    db: Any, store: FirestoreSessionStore, sink: CollectingSink
) -> None:
    uid = new_uid()
    phone = Client(store, uid)
    phone.sync([up("m1", "s1"), up("m2", "s2"), up("m3", "__odd__")])
    sessions = db.collection("users").document(uid).collection("sessions")

    live = sessions.document("s1").get()
    data = live.to_dict()
    assert {k: v for k, v in data.items() if k not in ("serverUpdatedAt",)} == {
        "id": "s1",
        "startedAt": T0 - timedelta(minutes=60),
        "plannedEndAt": T0 - timedelta(minutes=30),
        "endedAt": None,
        "status": "running",
        "label": "deep work",
        "blockedApps": ["com.example.social", "com.example.video"],
        "scheduleId": None,
        "updatedAt": T0,
        "deviceId": "phone",
        "deleted": False,
        "syncSeq": 1,
    }
    assert abs(data["serverUpdatedAt"] - live.update_time) < timedelta(seconds=5)
    head = db.collection("users").document(uid).collection("syncState").document("sessions").get()
    assert head.to_dict()["seq"] == 1
    assert sessions.document("~__odd__").get().to_dict()["id"] == "__odd__"

    records = {r.id: r for r in sink.records}
    assert set(records) == {"s1", "s2", "__odd__"}
    assert records["s1"].version == version_of(live.update_time)
    s1 = dict(records["s1"].data or {})
    assert s1.pop("serverUpdatedAt").startswith(live.update_time.strftime("%Y-%m-%dT%H:%M:%S"))
    assert s1 == {**session("s1"), "deleted": False, "syncSeq": 1}

    deleted_at = datetime.now(UTC)
    phone.sync([rm("d1", "s1", 1)])
    tomb = sessions.document("s1").get().to_dict()
    assert set(tomb) == {
        "id",
        "updatedAt",
        "deviceId",
        "deleted",
        "serverUpdatedAt",
        "syncSeq",
        "purgeAt",
    }
    assert tomb["deleted"] is True
    assert tomb["syncSeq"] == 2
    assert deleted_at + timedelta(days=31) - timedelta(minutes=1) <= tomb["purgeAt"]
    assert tomb["purgeAt"] <= datetime.now(UTC) + timedelta(days=32)
    assert sink.records[-1].data == {
        "id": "s1",
        "updatedAt": stamp(1),
        "deviceId": "phone",
        "deleted": True,
        "serverUpdatedAt": sink.records[-1].data["serverUpdatedAt"],  # type: ignore[index]
        "syncSeq": 2,
    }

    phone.sync([up("m4", "s1", 2)])  # a later edit resurrects it, with every field back
    back = sessions.document("s1").get().to_dict()
    assert "purgeAt" not in back
    assert back["deleted"] is False and back["blockedApps"] == [
        "com.example.social",
        "com.example.video",
    ]

    # A replay republishes the current state with the same version (nothing is lost if the
    # first call died between its commit and its publish).
    count = len(sink.records)
    phone.sync([up("m4", "s1", 2), up("m2", "s2")])
    republished = {r.id: r.version for r in sink.records[count:]}
    firsts = {r.id: r.version for r in sink.records[:count]}
    assert republished["s2"] == firsts["s2"]
    assert republished["s1"] == sink.records[count - 1].version


def test_paging_inside_one_commit_survives_a_new_store(db: Any, sink: CollectingSink) -> None:
    uid = new_uid()
    writer = Client(FirestoreSessionStore(db, sink), uid)
    writer.sync([up(f"m{i}", f"s{i}") for i in range(7)])  # one commit: seven equal seqs
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        reader = Client(FirestoreSessionStore(db, CollectingSink()), uid, "tablet")  # a restart
        reader.cursor = cursor
        answer = reader.sync(limit=2)
        seen += [c["id"] for c in answer["changes"]]
        cursor = answer["cursor"]
        if not answer["hasMore"]:
            break
    assert seen == [f"s{i}" for i in range(7)]
    assert decode_cursor(cursor).position.seq == 2  # past seq 1 entirely


def test_another_user_is_another_feed(store: FirestoreSessionStore) -> None:
    alice, bob = Client(store, new_uid()), Client(store, new_uid())
    alice.sync([up("m1", "s1", label="alice")])
    bob.sync([up("m1", "s1", minute=9, label="bob")])
    assert [c["label"] for c in Client(store, alice.uid, "t").drain()] == ["alice"]
    assert [c["label"] for c in Client(store, bob.uid, "t").drain()] == ["bob"]


def test_an_erased_feed_starts_cursors_over(db: Any, store: FirestoreSessionStore) -> None:
    uid = new_uid()
    phone = Client(store, uid)
    phone.sync([up("m1", "s1"), up("m2", "s2"), up("m3", "s3")])
    user = db.collection("users").document(uid)
    for doc in [*user.collection("sessions").stream(), *user.collection("syncState").stream()]:
        doc.reference.delete()  # what account deletion leaves: nothing
    Client(store, uid, "tablet").sync([up("n1", "n1")])
    assert [c["id"] for c in phone.drain()] == ["n1"]


# -- the deleted-account guard ----------------------------------------------------------------


class GuardedPhone:
    """A device whose calls carry the deleted-account guard of a token signed in at a time."""

    def __init__(self, store: FirestoreSessionStore, uid: str) -> None:
        self.store, self.uid = store, uid
        self.cursor: str | None = None

    def sync(self, mutations: list[dict[str, Any]], signed_in: datetime) -> tuple[str, int]:
        """("ok" or "refused", the reads of the call)."""
        from shared.accounts.deletion import DeletionGuard
        from shared.errors import Unauthenticated

        data = {"deviceId": "phone", "cursor": self.cursor, "mutations": mutations}
        request = parse(SyncFocusSessionsRequest, data)
        guard = DeletionGuard(self.uid, signed_in)
        with metered() as ops:
            try:
                answer = sync_focus_sessions(self.store, self.uid, request, guard=guard)
            except Unauthenticated:
                return "refused", ops.reads
        assert guard.checked
        self.cursor = answer.cursor
        return "ok", ops.reads


def feed_head(db: Any, uid: str) -> Any:
    return db.collection("users").document(uid).collection("syncState").document("sessions").get()


def test_where_the_user_has_a_feed_head_the_guard_reads_nothing_more(
    db: Any, store: FirestoreSessionStore
) -> None:
    from shared.sessions.repository import DELETED_FIELD, flag_account_deleted

    uid, old, new = new_uid(), T0 - timedelta(minutes=5), T0 + timedelta(seconds=1)
    phone = GuardedPhone(store, uid)
    assert phone.sync([up("m1", "s1")], old) == ("ok", 1 + 1 + 1)  # no head yet: the marker
    assert phone.sync([], old) == ("ok", 1)  # the head alone
    assert phone.sync([up("m2", "s2")], old) == ("ok", 1 + 1)

    assert flag_account_deleted(db, uid, T0)  # what the deletion does after its marker
    assert feed_head(db, uid).get(DELETED_FIELD) == T0
    assert phone.sync([up("m3", "s3")], old) == ("refused", 1 + 1)
    assert phone.sync([], old) == ("refused", 1)
    assert sorted(store_ids(db, uid)) == ["s1", "s2"]
    # A token signed in after the deletion (the account made again) passes.
    assert phone.sync([up("m4", "s4")], new) == ("ok", 1 + 1)
    assert not flag_account_deleted(db, new_uid(), T0)  # no head: nothing written


def test_without_a_feed_head_the_marker_is_read_and_a_new_head_keeps_it(
    db: Any, store: FirestoreSessionStore
) -> None:
    from shared.accounts.deletion import ACCOUNT_DELETIONS, uid_hash
    from shared.sessions.repository import DELETED_FIELD

    uid, old, new = new_uid(), T0 - timedelta(minutes=5), T0 + timedelta(seconds=1)
    db.collection(ACCOUNT_DELETIONS).document(uid_hash(uid)).set({"requestedAt": T0})
    phone = GuardedPhone(store, uid)
    assert phone.sync([up("m1", "s1")], old) == ("refused", 1 + 1 + 1)
    assert phone.sync([], old) == ("refused", 1 + 1)
    assert store_ids(db, uid) == [] and not feed_head(db, uid).exists

    # The uid's account made again: its first push creates the head, which keeps the deletion.
    assert phone.sync([up("n1", "n1")], new) == ("ok", 1 + 1 + 1)
    assert feed_head(db, uid).get(DELETED_FIELD) == T0
    assert phone.sync([up("m2", "s2")], old) == ("refused", 1 + 1)
    assert phone.sync([], old) == ("refused", 1)
    assert store_ids(db, uid) == ["n1"]


def test_a_push_that_read_the_head_before_the_deletion_flagged_it_is_redone_and_refused(
    db: Any, store: FirestoreSessionStore
) -> None:
    from shared.accounts.deletion import DeletionGuard
    from shared.errors import Unauthenticated
    from shared.sessions.models import FocusSession
    from shared.sessions.repository import flag_account_deleted
    from shared.sessions.service import decide_writes

    uid = new_uid()
    Client(store, uid).sync([up("m1", "s1")])
    version = FocusSession.model_validate(session("s2", 5))
    decide = decide_writes({"s2": [version]})
    flagged: list[bool] = []

    def deletion_lands_between_read_and_commit(current: Any) -> Any:
        if not flagged:
            flagged.append(flag_account_deleted(db, uid, T0))
        return decide(current)

    guard = DeletionGuard(uid, T0 - timedelta(minutes=5))
    with pytest.raises(Unauthenticated):
        store.apply(uid, ["s2"], deletion_lands_between_read_and_commit, guard)
    assert flagged == [True]
    assert store_ids(db, uid) == ["s1"]


def store_ids(db: Any, uid: str) -> list[str]:
    sessions = db.collection("users").document(uid).collection("sessions")
    return [snap.get("id") for snap in sessions.stream()]


# -- concurrency -------------------------------------------------------------------------------


def run_together(fns: list[Callable[[], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(fns))

    def run(fn: Callable[[], Any]) -> Any:
        barrier.wait()
        return fn()

    with ThreadPoolExecutor(max_workers=len(fns)) as pool:
        return list(pool.map(run, fns))


def test_concurrent_replays_of_one_batch_apply_once(db: Any) -> None:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore

    uid = new_uid()
    batch = [up(f"m{i}", f"s{i:02d}") for i in range(20)]
    # Two processes: separate clients, stores and sinks.
    clients = [
        Client(
            FirestoreSessionStore(
                firestore.Client(project=db.project, credentials=AnonymousCredentials()),  # type: ignore[no-untyped-call]
                CollectingSink(),
            ),
            uid,
        )
        for _ in range(2)
    ]

    def replay(client: Client) -> Callable[[], tuple[dict[str, Any], OpCount]]:
        return lambda: (client.sync(batch), client.ops)

    answers = run_together([replay(c) for c in clients])
    assert answers[0][0]["applied"] == answers[1][0]["applied"]
    assert answers[0][0]["changes"] == answers[1][0]["changes"]
    # One commit took effect: the feed advanced once and every session carries its time. (The
    # loser's failed commit attempt is counted by the meter, though Firestore bills nothing.)
    user = db.collection("users").document(uid)
    assert user.collection("syncState").document("sessions").get().to_dict()["seq"] == 1
    times = {snap.update_time for snap in user.collection("sessions").stream()}
    assert len(times) == 1
    assert sorted(count.billed_writes for _, count in answers) in ([0, 21], [21, 21])


def test_concurrent_writers_are_never_skipped_by_a_reader(store: FirestoreSessionStore) -> None:
    uid = new_uid()
    reader = Client(store, uid, "reader")
    seen: dict[str, dict[str, Any]] = {}
    stop = threading.Event()

    def write(device: str) -> None:
        client = Client(store, uid, device)
        for i in range(12):
            mutation = up(f"{device}{i}", f"{device}-{i}", device=device)
            for _ in range(20):
                try:
                    client.sync([mutation], keep=False)
                    break
                except Conflict:  # ABORTED: three writers of one user in a tight loop
                    continue  # the app retries, as it does on a lost answer
            else:
                raise AssertionError("never committed")

    def read() -> None:
        while not stop.is_set():
            for change in reader.sync(limit=3)["changes"]:
                seen[change["id"]] = change

    watcher = threading.Thread(target=read)
    watcher.start()
    try:
        run_together([functools.partial(write, d) for d in ("a", "b", "c")])
    finally:
        stop.set()
        watcher.join()
    for change in reader.drain(limit=3):
        seen[change["id"]] = change
    assert sorted(seen) == sorted(f"{d}-{i}" for d in "abc" for i in range(12))


# -- purge -------------------------------------------------------------------------------------


def test_purge_deletes_expired_tombstones_only(db: Any, sink: CollectingSink) -> None:
    now = datetime.now(UTC)
    uid = new_uid()
    past = FirestoreSessionStore(db, sink, clock=lambda: now - timedelta(days=33))
    old = Client(past, uid)
    old.sync([rm("d1", "gone"), rm("d2", "back"), up("m1", "live")])
    Client(past, uid).sync([up("m2", "back", 5)])  # resurrected: no longer a tombstone
    fresh = Client(FirestoreSessionStore(db, sink), uid)
    fresh.sync([rm("d3", "recent")])

    records = len(sink.records)
    with metered() as count:
        outcome = purge_tombstones(FirestoreSessionStore(db, sink), now, 30)
    assert (outcome.purged, outcome.complete) == (1, True)
    assert (count.reads, count.deletes, count.writes) == (1, 1, 1)  # + the owner's marker
    left = {d.id for d in db.collection("users").document(uid).collection("sessions").stream()}
    assert left == {"back", "live", "recent"}
    assert [(r.id, r.op, r.uid) for r in sink.records[records:]] == [("gone", "delete", uid)]

    with metered() as idle:
        assert purge_tombstones(FirestoreSessionStore(db, sink), now, 30).purged == 0
    assert (idle.reads, idle.billed_writes) == (1, 0)
