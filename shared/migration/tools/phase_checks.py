"""The checks of `focusctl mirror phase set` and of the moves' arguments: names that exist, how
long a phase must have settled, and whether devices were taken over before they may go to
`sql_only` (docs/MIGRATION.md). focusctl parses and prints; a refusal raises `Refused` (or
ValueError for a name that does not exist) with the sentence the operator reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from shared.changes import COLLECTIONS, Collection
from shared.migration.phases import PHASES, Phase
from shared.migration.tools.moves import Refused

if TYPE_CHECKING:
    from google.cloud import firestore

    from shared.migration.phases import CollectionPhase
    from shared.sql.store import SqlMirrorStore


def collection_named(name: str) -> Collection:
    """`name` as a collection; ValueError naming the ones there are."""
    for collection in COLLECTIONS:
        if collection == name:
            return collection
    raise ValueError(f"unknown collection {name!r}; one of {', '.join(COLLECTIONS)}")


def phase_named(name: str) -> Phase:
    """`name` as a phase; ValueError naming the ones there are."""
    for phase in PHASES:
        if phase == name:
            return phase
    raise ValueError(f"unknown phase {name!r}; one of {', '.join(PHASES)}")


def settle_seconds(given: float | None) -> float:
    """How long a phase must have been in place before the next step: `given`, or twice the
    instances' phase cache (every instance has then read it)."""
    from shared.settings import get_settings

    return given if given is not None else 2 * get_settings().phase_cache_s


def set_phase(
    db: firestore.Client,
    sql: Callable[[], SqlMirrorStore],
    collection: str,
    phase: str,
    percent: float,
    settle_s: float | None = None,
) -> CollectionPhase:
    """Move `collection` to `phase` for `percent` of users, if the phases allow it now
    (`Refused` otherwise): `sql_only` only after `sql_primary` at 100% has settled (devices:
    only once taken over), and back from `sql_only` only as far as a give-back allows."""
    from shared.migration.phases import save_phase

    name = collection_named(collection)
    target = phase_named(phase)
    # Devices move all at once: they may go to sql_only only once they were copied to SQL.
    taken_over = name == "devices" and target == "sql_only" and sql().ownership.devices_taken_over()
    try:
        config = save_phase(
            db, name, target, percent, settle_s=settle_s, devices_taken_over=taken_over
        )
    except ValueError as err:
        raise Refused(str(err)) from None
    return config.of(name)
