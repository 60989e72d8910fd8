"""Phase-aware reads: what the sessions' pull, export and listSchedules read per phase.

- `PhasedSessionStore` (syncFocusSessions): the feed head and every write stay on Firestore
  (the feed's sequence numbers are assigned there until `sql_only`); the pull (`changes`) is
  compared with SQL in `shadow_read` and served from SQL in `sql_primary`, with the same
  positions, so a cursor is valid in every phase. SQL answers only up to the user's feed
  watermark; beyond it (a commit still in flight) the pull is served from Firestore. In
  `sql_only` everything goes to `SqlSessionStore`, which takes the feed over from Firestore.
- `PhasedAccountReader` (exportAccount): per collection, compared or served from SQL
  (`SqlAccountReader`).
- `PhasedScheduleLister` (listSchedules): compared or served from SQL.

Each compares or moves reads with `phased_read` (routing.py) and counts what it did in
`ShadowStats`; the stores whose writes follow the phase are in phased.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.changes import Collection
from shared.migration.phases import Phase, Phases, at_least
from shared.migration.routing import (
    STATS,
    GiveBackGate,
    PhaseRouter,
    ShadowStats,
    StoreGetter,
    phased_read,
)

if TYPE_CHECKING:
    from shared.accounts.deletion import DeletionGuard
    from shared.accounts.models import UserProfile
    from shared.devices.models import Device
    from shared.privacy.export import AccountReader, ExportSchedule, ScannedSession
    from shared.schedules.models import Schedule
    from shared.schedules.repository import ScheduleLister
    from shared.sessions.models import Head, Position, Stored
    from shared.sessions.repository import Applied, Decide, PurgeOutcome, SessionStore
    from shared.sql.store import SqlMirrorStore


class PhasedSessionStore:
    """`SessionStore` following the user's `sessions` phase: the pull as the module docstring
    says, and everything on the SQL session store (shared/sessions/sql.py) in
    `sql_only`."""

    def __init__(
        self,
        inner: SessionStore,
        sql: StoreGetter,
        phases: Phases,
        stats: ShadowStats = STATS,
        gate: GiveBackGate | None = None,
    ) -> None:
        self._inner = inner
        self._sql = sql
        self._phases = phases
        self._stats = stats
        self._router: PhaseRouter[SessionStore] = PhaseRouter(
            "sessions", inner, self._sql_sessions, gate or GiveBackGate(sql, phases)
        )

    def _sql_sessions(self) -> SessionStore:
        from shared.sessions.sql import SqlSessionStore

        return SqlSessionStore(self._sql(), firestore_head=self._inner.head)

    def head(self, uid: str, guard: DeletionGuard | None = None) -> Head:
        return self._router.store(uid).head(uid, guard)

    def apply(
        self, uid: str, ids: Sequence[str], decide: Decide, guard: DeletionGuard | None = None
    ) -> Applied:
        return self._router.store(uid).apply(uid, ids, decide, guard)

    def purge_expired(self, now: datetime, budget_s: float) -> PurgeOutcome:
        """Firestore's tombstones always; SQL's too once some users are in `sql_only`, or some may
        still be while they are given back (only the SQL session store's tombstones carry a
        purge date there)."""
        from shared.sessions.repository import PurgeOutcome

        started = time.monotonic()
        outcome = self._inner.purge_expired(now, budget_s)
        setting = self._phases.config().of("sessions")
        if setting.phase != "sql_only" and not setting.give_back:
            return outcome
        left = max(0.0, budget_s - (time.monotonic() - started))
        in_sql = self._sql_sessions().purge_expired(now, left)
        return PurgeOutcome(outcome.purged + in_sql.purged, outcome.complete and in_sql.complete)

    def changes(self, uid: str, after: Position, upto_seq: int, limit: int) -> list[Stored]:
        phase: Phase = self._phases.of("sessions", uid)
        pick = self._router.pick(uid)
        if pick.sql:
            self._stats.record("sessions", "servedFromSql")
            return pick.store.changes(uid, after, upto_seq, limit)
        if phase == "shadow_read":
            rows = self._inner.changes(uid, after, upto_seq, limit)
            self._shadow(uid, after, upto_seq, limit, rows)
            return rows
        if at_least(phase, "sql_primary"):
            from_sql = self._from_sql(uid, after, upto_seq, limit)
            if from_sql is not None:
                self._stats.record("sessions", "servedFromSql")
                return from_sql
            self._stats.record("sessions", "fallback")
        return self._inner.changes(uid, after, upto_seq, limit)

    def _from_sql(
        self, uid: str, after: Position, upto_seq: int, limit: int
    ) -> list[Stored] | None:
        """The pull from SQL, or None when SQL does not hold the feed up to `upto_seq` yet."""
        store = self._sql()
        if store.feeds.feed_watermark(uid) < upto_seq:
            return None
        rows = store.feeds.sessions_in_feed(uid, (after.seq, after.id), upto_seq, limit)
        return [_stored(doc_id, data) for doc_id, data in rows]

    def _shadow(
        self, uid: str, after: Position, upto_seq: int, limit: int, expected: list[Stored]
    ) -> None:
        try:
            got = self._from_sql(uid, after, upto_seq, limit)
        except Exception as err:
            self._stats.record("sessions", "sqlError", error=type(err).__name__)
            return
        if got is None:
            self._stats.record("sessions", "sqlBehind")
            return
        if _feed_key(got) == _feed_key(expected):
            self._stats.record("sessions", "match")
        else:
            self._stats.record(
                "sessions", "mismatch", firestoreRows=len(expected), sqlRows=len(got)
            )


def _stored(doc_id: str, data: dict[str, Any]) -> Stored:
    from shared.sessions.repository import stored_from_doc

    return stored_from_doc(doc_id, data)


def _feed_key(rows: Sequence[Stored]) -> list[tuple[Any, ...]]:
    from shared.sessions.models import version_key

    return [(s.position, version_key(s.version)) for s in rows]


# -- export ------------------------------------------------------------------------------------


class SqlAccountReader:
    """`AccountReader` on the SQL mirror (same order and forms as the Firestore reader)."""

    def __init__(self, store: SqlMirrorStore) -> None:
        self._store = store

    def profile(self, uid: str) -> UserProfile | None:
        from shared.accounts.repository import profile_from_doc

        data = self._store.reads.get_user(uid)
        return profile_from_doc(data) if data else None

    def devices(self, uid: str) -> list[Device]:
        from shared.devices.models import device_from_doc

        return [device_from_doc(data) for data in self._store.reads.list_devices(uid)]

    def schedules(self, uid: str) -> list[ExportSchedule]:
        from shared.privacy.export import schedule_from_stored

        return [
            schedule_from_stored(data, data["id"]) for data in self._store.reads.list_schedules(uid)
        ]

    def sessions_after(self, uid: str, after: str | None, limit: int) -> list[ScannedSession]:
        from shared.privacy.export import session_from_stored

        rows = self._store.feeds.sessions_by_document_id(uid, after, limit)
        return [(doc_id, session_from_stored(data, doc_id)) for doc_id, data in rows]


class PhasedAccountReader:
    """`AccountReader` following each collection's phase for the user."""

    def __init__(
        self, inner: AccountReader, sql: StoreGetter, phases: Phases, stats: ShadowStats = STATS
    ) -> None:
        self._inner = inner
        self._sql = sql
        self._phases = phases
        self._stats = stats

    def _read[T](
        self,
        collection: Collection,
        uid: str,
        read: Callable[[AccountReader], T],
        compare: Callable[[T], Any],
    ) -> T:
        return phased_read(
            self._phases.of(collection, uid),
            collection,
            lambda: read(self._inner),
            lambda: read(SqlAccountReader(self._sql())),
            compare,
            self._stats,
            "export",
        )

    def profile(self, uid: str) -> UserProfile | None:
        profile: UserProfile | None = self._read("users", uid, lambda r: r.profile(uid), _wire)
        return profile

    def devices(self, uid: str) -> list[Device]:
        return self._read("devices", uid, lambda r: r.devices(uid), _wire)

    def schedules(self, uid: str) -> list[ExportSchedule]:
        return self._read("schedules", uid, lambda r: r.schedules(uid), _wire)

    def sessions_after(self, uid: str, after: str | None, limit: int) -> list[ScannedSession]:
        return self._read(
            "sessions",
            uid,
            lambda r: r.sessions_after(uid, after, limit),
            lambda rows: [(i, _wire(s)) for i, s in rows],
        )


def _wire(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value.to_wire()


# -- listSchedules -----------------------------------------------------------------------------


class PhasedScheduleLister:
    """`ScheduleLister` (listSchedules) following the user's `schedules` phase. Schedule writes,
    and the push capability's reads (revisions, push plans), stay on Firestore until
    `sql_only`; a write in `sql_primary` is applied to SQL before it answers (see
    `PhasedChangeSink`), so the app reads its own writes."""

    def __init__(
        self, inner: ScheduleLister, sql: StoreGetter, phases: Phases, stats: ShadowStats = STATS
    ) -> None:
        self._inner = inner
        self._sql = sql
        self._phases = phases
        self._stats = stats

    def list_schedules(self, uid: str) -> list[Schedule]:
        return phased_read(
            self._phases.of("schedules", uid),
            "schedules",
            lambda: self._inner.list_schedules(uid),
            lambda: self._from_sql(uid),
            _wire,
            self._stats,
            "listSchedules",
        )

    def _from_sql(self, uid: str) -> list[Schedule]:
        from shared.schedules.models import schedule_from_doc

        rows = self._sql().reads.list_schedules(uid)
        return [schedule_from_doc(row["id"], row).schedule for row in rows]
