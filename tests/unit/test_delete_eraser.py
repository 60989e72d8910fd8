"""The account eraser's steps and state machine against in-memory fakes of its ports."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from shared.accounts.deletion import uid_hash
from shared.errors import InvalidArgument
from shared.privacy.erasure import (
    MARKER_TTL_AFTER_DONE,
    STUCK_AFTER,
    AccountEraser,
    DeleteAccountRequest,
    Marker,
    State,
    race_window,
)
from shared.wire import parse

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=10)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)  # time moves on between steps
        return self.now


@dataclasses.dataclass
class Doc:
    uid: str
    written_at: datetime


@dataclasses.dataclass
class StoredMarker:
    uid: str | None
    requested_at: datetime
    state: State
    sweep_at: datetime | None
    expire_at: datetime | None
    version: int


class FakeStore:
    """Markers, user documents and token documents, with update times."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.markers: dict[str, StoredMarker] = {}
        self.docs: dict[str, Doc] = {}  # path -> owner
        self.tokens: dict[str, Doc] = {}
        self.versions = 0
        # (uid, requestedAt, how many of the uid's documents were left) per flag of the head
        self.flags: list[tuple[str, datetime, int]] = []

    def write_doc(self, path: str, uid: str) -> None:
        self.docs[path] = Doc(uid, self.clock())

    def _as_marker(self, key: str) -> Marker:
        m = self.markers[key]
        return Marker(key, m.uid, m.requested_at, m.state, T0 + timedelta(microseconds=m.version))

    def get_marker(self, uid: str) -> Marker | None:
        key = uid_hash(uid)
        return self._as_marker(key) if key in self.markers else None

    def start(
        self, uid: str, requested_at: datetime, previous: Marker | None, sweep_at: datetime
    ) -> Marker | None:
        key = uid_hash(uid)
        current = self.get_marker(uid)
        if current != previous:
            return None
        self.versions += 1
        self.markers[key] = StoredMarker(
            uid, requested_at, "erasing", sweep_at, None, self.versions
        )
        return self._as_marker(key)

    def flag_feed_head(self, uid: str, requested_at: datetime) -> None:
        left = sum(1 for d in self.docs.values() if d.uid == uid)
        self.flags.append((uid, requested_at, left))

    def delete_tokens(self, uid: str, cutoff: datetime | None) -> int:
        doomed = [
            k
            for k, d in self.tokens.items()
            if d.uid == uid and (cutoff is None or d.written_at <= cutoff)
        ]
        for k in doomed:
            del self.tokens[k]
        return len(doomed)

    def delete_user_data(self, uid: str, cutoff: datetime | None) -> datetime | None:
        doomed = [
            p
            for p, d in self.docs.items()
            if d.uid == uid and (cutoff is None or d.written_at <= cutoff)
        ]
        for p in doomed:
            del self.docs[p]
        return self.clock() if doomed else None

    def advance(
        self,
        marker: Marker,
        state: State,
        *,
        sweep_at: datetime | None,
        expire_at: datetime | None,
        keep_uid: bool,
    ) -> bool:
        if self.markers.get(marker.key) is None or self._as_marker(marker.key) != marker:
            return False
        m = self.markers[marker.key]
        self.versions += 1
        m.state, m.sweep_at, m.expire_at, m.version = state, sweep_at, expire_at, self.versions
        if not keep_uid:
            m.uid = None
        return True

    def due(self, now: datetime, limit: int) -> list[Marker]:
        keys = sorted(
            (k for k, m in self.markers.items() if m.sweep_at is not None and m.sweep_at <= now),
            key=lambda k: self.markers[k].sweep_at or now,
        )
        return [self._as_marker(k) for k in keys[:limit]]


class FakeAuth:
    def __init__(self) -> None:
        self.users: dict[str, datetime] = {}

    def created_at(self, uid: str) -> datetime | None:
        return self.users.get(uid)

    def delete_user(self, uid: str) -> None:
        self.users.pop(uid, None)


class FakeMirror:
    def __init__(self) -> None:
        self.erased: list[tuple[str, int]] = []
        self.sql_versions: dict[str, int] = {}
        self.fail_next = False

    def erase_user(self, uid: str, version: int) -> None:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("injected: the process dies after step 4")
        self.erased.append((uid, version))

    def newest_version(self, uid: str) -> int:
        """What SQL holds of `uid` in `sql_only` (its own clock); nothing unless a test says."""
        return self.sql_versions.get(uid, 0)


class FakePushes:
    def __init__(self) -> None:
        self.cancelled: list[str] = []

    def cancel_user(self, uid: str) -> None:
        self.cancelled.append(uid)


@dataclasses.dataclass
class World:
    clock: Clock
    store: FakeStore
    auth: FakeAuth
    mirror: FakeMirror
    pushes: FakePushes
    eraser: AccountEraser

    def seed(self, uid: str) -> None:
        self.auth.users[uid] = T0 - timedelta(days=30)
        for path in ("users/{u}", "users/{u}/sessions/s1", "users/{u}/devices/d1", "users/{u}/x/y"):
            self.store.write_doc(path.format(u=uid), uid)
        self.store.tokens[f"tok-{uid}"] = Doc(uid, self.clock())

    def traces(self, uid: str) -> list[str]:
        found = [p for p, d in self.store.docs.items() if d.uid == uid]
        found += [k for k, d in self.store.tokens.items() if d.uid == uid]
        found += [k for k, m in self.store.markers.items() if m.uid == uid]
        if uid in self.auth.users:
            found.append("auth")
        return found


@pytest.fixture
def world() -> World:
    clock = Clock()
    store, auth, mirror, pushes = FakeStore(clock), FakeAuth(), FakeMirror(), FakePushes()
    eraser = AccountEraser(store, auth, mirror, pushes, clock, window=WINDOW)
    w = World(clock, store, auth, mirror, pushes, eraser)
    w.seed("alice")
    w.seed("bob")
    return w


def marker_of(world: World, uid: str) -> StoredMarker:
    return world.store.markers[uid_hash(uid)]


def test_deletion_erases_every_store_and_keeps_others(world: World) -> None:
    world.eraser.delete_account("alice", auth_time=T0 - timedelta(minutes=5))
    assert world.traces("alice") == [uid_hash("alice")]  # only the marker, until the re-check
    assert len(world.traces("bob")) == 6
    assert world.pushes.cancelled == ["alice"]
    ((uid, version),) = world.mirror.erased
    assert uid == "alice" and version > 0
    marker = marker_of(world, "alice")
    assert marker.state == "erased" and marker.expire_at is None
    assert marker.sweep_at == marker.requested_at + WINDOW
    # The feed head was flagged with the marker's time before anything was erased.
    assert world.store.flags == [("alice", marker.requested_at, 4)]


def test_the_erasure_reaches_versions_sql_made_ahead_of_every_other_clock(world: World) -> None:
    # In sql_only SQL versions writes with its own clock, which ran 10 s ahead of ours.
    ahead = int((world.clock.now + timedelta(seconds=10)).timestamp() * 1_000_000)
    world.mirror.sql_versions["alice"] = ahead
    world.eraser.delete_account("alice", auth_time=T0 - timedelta(minutes=5))
    ((uid, version),) = world.mirror.erased
    assert uid == "alice" and version == ahead


def test_a_re_created_account_keeps_its_cutoff_whatever_sql_holds(world: World) -> None:
    world.eraser.delete_account("alice", auth_time=T0 - timedelta(minutes=5))
    created = world.clock()
    world.auth.users["alice"] = created
    world.mirror.sql_versions["alice"] = int((created + timedelta(seconds=10)).timestamp() * 1e6)
    world.eraser.sweep(world.clock.now + WINDOW)
    assert world.mirror.erased[-1] == ("alice", int(created.timestamp() * 1_000_000))


def test_the_recheck_catches_a_racing_write_then_forgets_the_uid(world: World) -> None:
    world.eraser.delete_account("alice", auth_time=T0 - timedelta(minutes=5))
    world.store.write_doc("users/alice/sessions/late", "alice")  # passed the guard just before
    assert world.eraser.sweep(world.clock.now).rechecked == 0  # not yet due
    later = world.clock.now + WINDOW
    report = world.eraser.sweep(later)
    assert report.rechecked == 1
    assert world.traces("alice") == []
    marker = marker_of(world, "alice")
    assert marker.uid is None and marker.state == "done" and marker.sweep_at is None
    assert (
        marker.expire_at is not None and marker.expire_at - world.clock.now <= MARKER_TTL_AFTER_DONE
    )
    assert world.eraser.sweep(later + timedelta(hours=1)) == type(report)()  # nothing left to do
    assert len(world.store.flags) == 1  # the re-check has no head to flag


def test_a_retry_with_the_old_token_is_answered_without_work(world: World) -> None:
    old = T0 - timedelta(minutes=5)
    world.eraser.delete_account("alice", auth_time=old)
    before = dict(world.store.markers)
    world.eraser.delete_account("alice", auth_time=old)
    assert world.store.markers == before
    assert len(world.mirror.erased) == 1


@pytest.mark.parametrize("finish", ["retry", "sweep"])
def test_a_crash_after_step_4_is_finished_by_a_retry_or_the_sweep(
    world: World, finish: str
) -> None:
    old = T0 - timedelta(minutes=5)
    world.mirror.fail_next = True
    with pytest.raises(RuntimeError):
        world.eraser.delete_account("alice", auth_time=old)
    assert marker_of(world, "alice").state == "erasing"
    assert "auth" in world.traces("alice")  # step 6 never ran
    if finish == "retry":
        world.eraser.delete_account("alice", auth_time=old)
    else:
        assert world.eraser.sweep(world.clock.now).resumed == 0  # maybe still running
        assert world.eraser.sweep(world.clock.now + STUCK_AFTER).resumed == 1
    assert world.traces("alice") == [uid_hash("alice")]
    assert marker_of(world, "alice").state == "erased"
    assert world.mirror.erased and world.mirror.erased[-1][0] == "alice"
    # The resumed run flagged the head again: a crash may have come before the first flag.
    requested_at = marker_of(world, "alice").requested_at
    assert world.store.flags == [("alice", requested_at, 4), ("alice", requested_at, 0)]


def test_a_re_created_account_is_left_alone_by_the_recheck(world: World) -> None:
    world.eraser.delete_account("alice", auth_time=T0 - timedelta(minutes=5))
    racing_write_at = world.clock.now
    world.store.write_doc("users/alice/sessions/racing", "alice")
    # The same uid comes back (custom-token sign-in) and writes its own data.
    world.auth.users["alice"] = world.clock()
    world.store.write_doc("users/alice", "alice")
    world.store.write_doc("users/alice/sessions/new", "alice")
    world.eraser.sweep(world.clock.now + WINDOW)
    assert "users/alice/sessions/racing" not in world.store.docs
    assert {"users/alice", "users/alice/sessions/new"} <= set(world.store.docs)
    assert "alice" in world.auth.users and world.pushes.cancelled == ["alice"]
    assert world.mirror.erased[-1][1] > int(racing_write_at.timestamp() * 1e6)


def test_a_new_account_with_the_same_uid_can_be_deleted_again(world: World) -> None:
    world.eraser.delete_account("alice", auth_time=T0 - timedelta(minutes=5))
    world.eraser.sweep(world.clock.now + WINDOW)
    world.auth.users["alice"] = world.clock()
    world.store.write_doc("users/alice", "alice")
    world.eraser.delete_account("alice", auth_time=world.clock())  # a fresh sign-in
    marker = marker_of(world, "alice")
    assert marker.state == "erased" and marker.uid == "alice" and marker.expire_at is None
    assert world.traces("alice") == [uid_hash("alice")]


def test_sweep_failures_are_counted_and_retried(world: World) -> None:
    world.mirror.fail_next = True
    with pytest.raises(RuntimeError):
        world.eraser.delete_account("alice", auth_time=None)
    world.mirror.fail_next = True
    assert world.eraser.sweep(world.clock.now + STUCK_AFTER).failed == 1
    assert world.eraser.sweep(world.clock.now + STUCK_AFTER).resumed == 1


def test_the_race_window_covers_every_function_timeout() -> None:
    from shared import registry

    assert race_window() > timedelta(seconds=max(f.timeout_s for f in registry.FUNCTIONS))
    assert timedelta(seconds=registry.function("deleteAccount").timeout_s) < STUCK_AFTER


@pytest.mark.parametrize("data", [{}, {"confirm": False}, {"confirm": "true"}, {"confirm": 1}])
def test_delete_needs_confirm_true(data: dict[str, object]) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse(DeleteAccountRequest, data)
    assert err.value.message.startswith("data.confirm")
