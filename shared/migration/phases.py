"""Migration phases per collection and per user, and where they are kept.

Phases, in order: `firestore_only`, `dual_write`, `shadow_read`, `sql_primary`, `sql_only`.
Each collection has `{phase, percent}`: a user is *in* when `sha256("<collection>:<uid>")` falls
in the first `percent` of the hash space (stable: the same users stay in as the percentage
grows), and then gets `phase`; the others get the phase just before it. So `sql_primary` at 10%
means 10% of users read from SQL and 90% are in `shadow_read`; rolling back is setting the
previous phase at 100%. From `sql_only`, whose writes exist in SQL alone, the step back goes to
`sql_primary` (at 100%, or by lowering the `sql_only` percentage) and raises `give_back`: the
users SQL still owns are given back to Firestore (shared/migration/moves/) before Firestore
serves them again (`check_change` says which changes are refused, and why).

Where they are kept: the Firestore document `config/migration`, read by each instance at most
every `phase_cache_s` seconds (30 by default): one billed read per instance per 30 s, no deploy
to change it, and readable when PostgreSQL is down (an outage of SQL must not stop the
Firestore path from knowing it should not use SQL). Clients cannot read or write it
(firestore.rules denies everything not listed). If it cannot be read, an instance keeps the last
value it read; with none, the defaults (`dual_write` everywhere, the mirror's normal state).

What each phase means for the request path is in docs/MIGRATION.md; the mirror itself (publish
and `mirrorChanges`) runs in every phase.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.changes import COLLECTIONS, Collection
from shared.once import once

if TYPE_CHECKING:
    from google.cloud import firestore

Phase = Literal["firestore_only", "dual_write", "shadow_read", "sql_primary", "sql_only"]
PHASES: tuple[Phase, ...] = (
    "firestore_only",
    "dual_write",
    "shadow_read",
    "sql_primary",
    "sql_only",
)
CONFIG_COLLECTION = "config"
CONFIG_DOC = "migration"
BUCKETS = 10_000
# `sql_only` needs a SQL store with the collection's write rules (shared/<capability>/sql.py).
SQL_ONLY_COLLECTIONS: frozenset[Collection] = frozenset(
    {"sessions", "users", "schedules", "devices"}
)


class CollectionPhase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    phase: Phase = "dual_write"
    percent: float = Field(100.0, ge=0, le=100, description="share of users in `phase`")
    changed_at: datetime | None = None  # when this setting was made (None: never set)
    # Set by a step back from `sql_only`, until `focusctl mirror give-back` has given every
    # user SQL owned back to Firestore: while set, requests check who owns the user's documents.
    give_back: bool = False


class PhaseConfig(BaseModel):
    """`config/migration`: the phase of each collection."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    collections: dict[Collection, CollectionPhase] = Field(default_factory=dict)

    def of(self, collection: Collection) -> CollectionPhase:
        return self.collections.get(collection, CollectionPhase())

    def with_phase(
        self,
        collection: Collection,
        phase: Phase,
        percent: float,
        changed_at: datetime | None = None,
        give_back: bool = False,
    ) -> PhaseConfig:
        updated = dict(self.collections)
        updated[collection] = CollectionPhase(
            phase=phase, percent=percent, changed_at=changed_at, give_back=give_back
        )
        return PhaseConfig(collections=updated)


def bucket(collection: Collection, uid: str) -> int:
    """The user's stable bucket in [0, 10000) for `collection`."""
    digest = hashlib.sha256(f"{collection}:{uid}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def previous(phase: Phase) -> Phase:
    index = PHASES.index(phase)
    return PHASES[max(0, index - 1)]


def phase_for(config: PhaseConfig, collection: Collection, uid: str) -> Phase:
    """The phase `uid` is in for `collection` (pure)."""
    setting = config.of(collection)
    if bucket(collection, uid) < round(setting.percent * BUCKETS / 100):
        return setting.phase
    return previous(setting.phase)


def at_least(phase: Phase, floor: Phase) -> bool:
    return PHASES.index(phase) >= PHASES.index(floor)


def steps_back_from_sql_only(current: CollectionPhase, phase: Phase, percent: float) -> bool:
    """Whether setting (`phase`, `percent`) takes some users out of `sql_only`."""
    return current.phase == "sql_only" and (phase != "sql_only" or percent < current.percent)


def settled(setting: CollectionPhase, now: datetime, settle_s: float) -> bool:
    """Whether `setting` has been in place for `settle_s` (every instance then follows it)."""
    if setting.changed_at is None:
        return True  # never set: the defaults, which every instance has always followed
    return setting.changed_at + timedelta(seconds=settle_s) <= now


def check_change(
    collection: Collection,
    current: CollectionPhase,
    phase: Phase,
    percent: float,
    now: datetime,
    settle_s: float,
    devices_taken_over: bool = False,
) -> None:
    """Refuse (ValueError, saying why) a phase change that could lose acknowledged writes.

    Every step up to `sql_primary` and back is safe at any time: Firestore keeps every write.
    `sql_only` is different: its writes exist in SQL only.

    - Forward: the users it takes must already be served by `sql_primary` everywhere, or an
      instance still reading an older phase from its cache would acknowledge a Firestore write
      that the mirror's fence then refuses (shared/sessions/sql.py). So `sql_primary` at
      100% for longer than `settle_s` (the phase cache, with a margin) before the first
      `sql_only`. Devices move all at once, after `focusctl mirror take-over-devices` copied
      them (shared/devices/sql.py says why).
    - Back: only as far as `sql_primary` (at 100%, or by a lower `sql_only` percentage; devices
      all at once), where every request reaches SQL: the users leaving `sql_only` are given
      back to Firestore first (shared/migration/moves/give_back.py). Further back only once
      `focusctl mirror give-back` has finished (`give_back` cleared).
    """
    if steps_back_from_sql_only(current, phase, percent):
        if collection == "devices" and (phase != "sql_primary" or percent < 100):
            raise ValueError(
                "devices leave sql_only all at once: to sql_primary at 100%, then "
                "`focusctl mirror give-back devices`"
            )
        if phase != "sql_only" and (phase != "sql_primary" or percent < 100):
            raise ValueError(
                f"{collection} steps back from sql_only to sql_primary at 100% (or to a lower "
                "sql_only percentage) first: its newest writes exist only in SQL and are given "
                "back to Firestore there"
            )
        return
    if current.give_back and not at_least_setting(phase, percent, "sql_primary"):
        raise ValueError(
            f"{collection} is still being given back to Firestore: run `focusctl mirror "
            f"give-back {collection}` before going below sql_primary at 100%"
        )
    if phase != "sql_only":
        return
    if collection not in SQL_ONLY_COLLECTIONS:
        raise ValueError(f"sql_only is not implemented for {collection} (docs/MIGRATION.md)")
    if collection == "devices" and (percent < 100 or not devices_taken_over):
        raise ValueError(
            "devices move to sql_only all at once (100%), after `focusctl mirror "
            "take-over-devices` has copied them"
        )
    if current.phase == "sql_only":
        return
    if current.phase != "sql_primary" or current.percent < 100:
        raise ValueError(
            f"sql_only needs {collection} in sql_primary at 100% first "
            f"(now {current.phase} at {current.percent:g}%)"
        )
    if not settled(current, now, settle_s) or current.changed_at is None:
        settled_at = (current.changed_at or now) + timedelta(seconds=settle_s)
        wait = max(0, round((settled_at - now).total_seconds()))
        raise ValueError(
            f"sql_primary at 100% must be in place for {settle_s:g} s before sql_only, so that "
            f"every instance follows it; retry in {wait} s"
        )


def at_least_setting(phase: Phase, percent: float, floor: Phase) -> bool:
    """Whether every user is at `floor` or later under the setting (`phase`, `percent`)."""
    return at_least(phase if percent >= 100 else previous(phase), floor)


class Phases:
    """The phases an instance currently follows, re-read at most every `ttl_s` seconds."""

    def __init__(
        self,
        load: Callable[[], PhaseConfig],
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._config: PhaseConfig | None = None
        self._read_at = 0.0

    def config(self) -> PhaseConfig:
        now = self._clock()
        with self._lock:
            if self._config is not None and now - self._read_at < self._ttl_s:
                return self._config
            try:
                self._config = self._load()
            except Exception:
                from shared import logs

                logs.get_logger("mirror.phases").exception("phases unreadable; keeping the last")
                if self._config is None:
                    self._config = PhaseConfig()
            self._read_at = now
            return self._config

    def of(self, collection: Collection, uid: str) -> Phase:
        return phase_for(self.config(), collection, uid)


def fixed(config: PhaseConfig) -> Phases:
    """Phases that never change (tests, tools)."""
    return Phases(lambda: config, ttl_s=float("inf"))


# -- the Firestore document --------------------------------------------------------------------


def load_config(db: firestore.Client) -> PhaseConfig:
    # Not metered per request (shared.metering): it is one read per instance per cache period,
    # whichever request happens to trigger it.
    snap = db.collection(CONFIG_COLLECTION).document(CONFIG_DOC).get()
    return parse_config(snap.to_dict() if snap.exists else None)


def parse_config(data: Mapping[str, Any] | None) -> PhaseConfig:
    if not data:
        return PhaseConfig()
    return PhaseConfig.model_validate({"collections": data.get("collections", {})})


def save_phase(
    db: firestore.Client,
    collection: Collection,
    phase: Phase,
    percent: float,
    *,
    settle_s: float | None = None,
    devices_taken_over: bool = False,
) -> PhaseConfig:
    """Set one collection's phase (read-modify-write under a precondition, so two operators
    changing different collections at once both win), if `check_change` allows it. `settle_s`
    defaults to twice the instances' phase cache."""
    from shared.clock import utcnow

    if settle_s is None:
        from shared.settings import get_settings

        settle_s = 2 * get_settings().phase_cache_s
    settle: float = settle_s

    def change(current: PhaseConfig) -> PhaseConfig:
        now = utcnow()
        setting = current.of(collection)
        check_change(collection, setting, phase, percent, now, settle, devices_taken_over)
        give_back = setting.give_back or steps_back_from_sql_only(setting, phase, percent)
        return current.with_phase(collection, phase, percent, now, give_back)

    return _update_config(db, change)


def finish_give_back(
    db: firestore.Client, collection: Collection, nothing_owned: Callable[[], bool]
) -> bool:
    """Clear the collection's `give_back` once it is out of `sql_only` and `nothing_owned()`
    (SQL owns no user's documents of it any more); True when it is clear. The setting itself
    (phase, percentage, when it was made) is kept."""

    def change(current: PhaseConfig) -> PhaseConfig:
        setting = current.of(collection)
        if not setting.give_back or setting.phase == "sql_only" or not nothing_owned():
            return current
        return current.with_phase(
            collection, setting.phase, setting.percent, setting.changed_at, give_back=False
        )

    return not _update_config(db, change).of(collection).give_back


def _update_config(
    db: firestore.Client, change: Callable[[PhaseConfig], PhaseConfig]
) -> PhaseConfig:
    """Read `config/migration`, apply `change`, write the result if it differs, under a
    precondition (redone if another operator changed it meanwhile); the config now in force."""
    from shared import fs

    ref = db.collection(CONFIG_COLLECTION).document(CONFIG_DOC)

    def attempt() -> PhaseConfig:
        snap = fs.get_all(db, [ref])[ref.path]
        current = parse_config(snap.to_dict() if snap.exists else None)
        updated = change(current)
        if updated == current:
            return current
        batch = db.batch()
        document = {"collections": updated.model_dump(mode="json")["collections"]}
        fs.put(db, batch, ref, snap, document)
        fs.commit(batch, writes=1)
        return updated

    return fs.run_optimistic(attempt)


def describe(config: PhaseConfig) -> list[tuple[Collection, CollectionPhase, Phase]]:
    """(collection, setting, phase of the users not in it) for every collection."""
    return [(c, config.of(c), previous(config.of(c).phase)) for c in COLLECTIONS]


@once
def instance_phases() -> Phases:
    """The instance's `Phases` on Firestore (built on first use)."""
    from shared.clients import firestore_client
    from shared.settings import get_settings

    return Phases(lambda: load_config(firestore_client()), get_settings().phase_cache_s)


def reset_instance_phases() -> None:
    instance_phases.cache_clear()
