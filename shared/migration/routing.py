"""Which store serves a user: one generic `PhaseRouter` for every store, on the decision of
`GiveBackGate`, and `phased_read` for reads that are compared (`shadow_read`) or moved
(`sql_primary`); the per-Protocol adapters built on them are in phased.py and phased_reads.py.

The gate decides, and never moves data: `sql` (the SQL stores of `sql_only`), `firestore`, or
`give_back`. While a collection steps back from `sql_only` (its setting carries `give_back`),
SQL serves the users it still owns until the step back has settled (an instance with an older
phase cache may still serve them in `sql_only`); after that the decision is `give_back`, and
the router gives the user back to Firestore (shared/migration/moves/give_back.py) before
Firestore serves them.

Shadow reads never change what the client gets and never fail its request: mismatches, SQL
lagging behind and SQL errors are counted per instance and logged (`mirrorShadowRead`).
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from shared.changes import Collection
from shared.migration.phases import Phase, Phases, at_least, settled

if TYPE_CHECKING:
    from google.cloud import firestore

    from shared.sql.store import SqlMirrorStore

StoreGetter = Callable[[], "SqlMirrorStore"]
FirestoreGetter = Callable[[], "firestore.Client"]
Outcome = Literal["match", "mismatch", "sqlBehind", "sqlError", "servedFromSql", "fallback"]


class ShadowStats:
    """Per-instance counters of shadow and SQL reads, logged as they move."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[tuple[str, str]] = Counter()

    def record(self, collection: str, outcome: Outcome, **fields: Any) -> None:
        with self._lock:
            self.counts[(collection, outcome)] += 1
            total = self.counts[(collection, outcome)]
        if outcome in ("match", "servedFromSql"):
            return  # the common case: counted, not logged line by line
        from shared import logs

        log = logs.get_logger("mirror.shadow")
        level = log.warning if outcome in ("mismatch", "sqlError") else log.info
        level(
            "shadow read: %s",
            outcome,
            extra={
                "fields": {
                    "metric": "mirrorShadowRead",
                    "collection": collection,
                    "outcome": outcome,
                    "count": total,
                    **fields,
                }
            },
        )

    def get(self, collection: str, outcome: Outcome) -> int:
        with self._lock:
            return self.counts[(collection, outcome)]


STATS = ShadowStats()


Route = Literal["firestore", "sql", "give_back"]


class GiveBackGate:
    """Decides which store serves a user's documents of a collection; it never moves data.

    `decide` answers `sql` (the SQL stores of `sql_only`, or SQL still owns the user while a
    step back settles), `firestore`, or `give_back`: SQL still owns the user of a collection
    being given back and the step back has settled, so the caller gives the user back
    (`give_back`) and then lets Firestore serve them (see the module docstring).

    Costs nothing beyond the cached phases unless the collection is being given back; then one
    indexed SQL read per call to learn whether SQL still owns the user."""

    def __init__(
        self,
        sql: StoreGetter,
        phases: Phases,
        db: FirestoreGetter | None = None,
        settle_s: float | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._sql = sql
        self._phases = phases
        self._db = db
        self._settle_s = settle_s
        self._clock = clock

    def decide(self, collection: Collection, uid: str) -> Route:
        if self._phases.of(collection, uid) == "sql_only":
            return "sql"
        setting = self._phases.config().of(collection)
        if not setting.give_back or not self._sql().ownership.owns(collection, uid):
            return "firestore"
        if collection == "devices" or not settled(setting, self._now(), self._settle()):
            # Devices go back all at once (`focusctl mirror give-back devices`); the others
            # stay on SQL while an instance may still serve this user in `sql_only`.
            return "sql"
        return "give_back"

    def give_back(self, collection: Collection, uid: str) -> None:
        """What the `give_back` decision asks for: the user's documents back to Firestore."""
        from shared.migration.moves.give_back import GiveBack

        GiveBack(self._sql(), self._firestore()).user(collection, uid)

    def _now(self) -> datetime:
        from shared.clock import utcnow

        return (self._clock or utcnow)()

    def _settle(self) -> float:
        if self._settle_s is not None:
            return self._settle_s
        from shared.settings import get_settings

        return 2 * get_settings().phase_cache_s

    def _firestore(self) -> firestore.Client:
        if self._db is not None:
            return self._db()
        from shared.clients import firestore_client

        return firestore_client()


@dataclasses.dataclass(frozen=True)
class Pick[S]:
    """The store that serves one user's request, and whether it is the SQL one."""

    store: S
    sql: bool


class PhaseRouter[S]:
    """One router for every store: per user, the Firestore store or the SQL one of a collection,
    as `GiveBackGate` decides; a `give_back` decision is carried out here, before Firestore
    serves the user. The phased stores below are thin adapters of their Protocols on it."""

    def __init__(
        self, collection: Collection, firestore: S, sql: Callable[[], S], gate: GiveBackGate
    ) -> None:
        self._collection = collection
        self._firestore = firestore
        self._sql = sql
        self._gate = gate

    def pick(self, uid: str) -> Pick[S]:
        route = self._gate.decide(self._collection, uid)
        if route == "sql":
            return Pick(self._sql(), sql=True)
        if route == "give_back":
            self._gate.give_back(self._collection, uid)
        return Pick(self._firestore, sql=False)

    def store(self, uid: str) -> S:
        return self.pick(uid).store


def phased_read[T](
    phase: Phase,
    collection: Collection,
    from_firestore: Callable[[], T],
    from_sql: Callable[[], T],
    compare: Callable[[T], Any],
    stats: ShadowStats,
    read: str,
) -> T:
    """One read of `collection` as `phase` says: Firestore; Firestore compared with SQL
    (`shadow_read`, the client always gets Firestore's answer); or SQL (`sql_primary` on)."""
    if at_least(phase, "sql_primary"):
        stats.record(collection, "servedFromSql")
        return from_sql()
    value = from_firestore()
    if phase == "shadow_read":
        try:
            shadow = from_sql()
        except Exception as err:
            stats.record(collection, "sqlError", error=type(err).__name__, read=read)
            return value
        same = compare(shadow) == compare(value)
        stats.record(collection, "match" if same else "mismatch", read=read)
    return value
