"""The ownership moves focusctl runs, with their checks: `focusctl mirror take-over-devices` and
`focusctl mirror give-back <collection>` (docs/MIGRATION.md). focusctl parses and prints; what
is refused, and the order of the steps, is decided here, where tests call it directly.

A refusal raises `Refused` with the sentence the operator reads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from shared.changes import Collection

if TYPE_CHECKING:
    from google.cloud import firestore

    from shared.migration.phases import PhaseConfig
    from shared.sql.store import SqlMirrorStore

Progress = Callable[[int], None]


class Refused(ValueError):
    """A move the phases do not allow now; the message says why and what to do."""


@dataclasses.dataclass(frozen=True)
class GiveBackReport:
    """What one `give-back` run did: users (or devices and token owners) given back, and
    whether the collection's give-back is finished (it may then step further back)."""

    users: int = 0
    devices: int = 0
    tokens: int = 0
    cleared: bool = False


def check_take_over_devices(db: firestore.Client, settle_s: float) -> None:
    """`Refused` unless devices may be taken over now: the same checks as the switch to
    `sql_only` itself, and none while they are being given back."""
    from shared.clock import utcnow
    from shared.migration.phases import check_change, load_config

    current = load_config(db).of("devices")
    if current.phase == "sql_only":
        raise Refused("devices are in sql_only already")
    if current.give_back:
        # SQL holds the newest devices: copying Firestore's over them would lose writes.
        raise Refused(
            "devices are being given back to Firestore: finish `focusctl mirror give-back "
            "devices`, or set them to sql_only again"
        )
    try:  # the same preconditions as the switch itself, but for the copy
        check_change("devices", current, "sql_only", 100, utcnow(), settle_s, True)
    except ValueError as err:
        raise Refused(str(err)) from None


def take_over_devices(
    db: firestore.Client, store: SqlMirrorStore, on_progress: Progress
) -> tuple[int, int]:
    """Every device and token owner into SQL (after `check_take_over_devices`). Returns
    (devices, token owners) copied."""
    from shared.migration.moves.devices import take_over_devices as copy_devices

    return copy_devices(db, store, on_progress=on_progress)


def check_give_back(
    db: firestore.Client,
    collection: Collection,
    settle_s: float,
    now: Callable[[], datetime] | None = None,
) -> PhaseConfig:
    """`Refused` unless `collection` is being given back and the step back has settled; the
    phases read, for `give_back`."""
    from shared.clock import utcnow
    from shared.migration.phases import load_config, settled

    config = load_config(db)
    setting = config.of(collection)
    if not setting.give_back:
        raise Refused(
            f"{collection} is not being given back (no step back from sql_only to finish)"
        )
    if not settled(setting, (now or utcnow)(), settle_s):
        raise Refused(
            f"the step back must be in place for {settle_s:g} s first (an instance may still "
            "serve its users in sql_only); retry shortly"
        )
    return config


def give_back(
    db: firestore.Client,
    store: SqlMirrorStore,
    collection: Collection,
    config: PhaseConfig,
    on_progress: Progress,
) -> GiveBackReport:
    """After a step back from `sql_only` (`check_give_back` first): every user SQL still owns
    back to Firestore (devices all at once), then the collection's give-back cleared if nobody
    is left in `sql_only`."""
    from shared.migration.moves.devices import give_back_devices
    from shared.migration.moves.give_back import GiveBack
    from shared.migration.phases import finish_give_back, phase_for

    if collection == "devices":  # all at once: there is no per-user give-back of devices
        devices, tokens = give_back_devices(db, store, on_progress=on_progress)
        cleared = finish_give_back(db, collection, lambda: not store.ownership.devices_taken_over())
        return GiveBackReport(devices=devices, tokens=tokens, cleared=cleared)
    giver = GiveBack(store, db)
    given = 0
    after = ""
    while page := giver.owners(collection, after):
        for uid in page:
            if phase_for(config, collection, uid) != "sql_only":
                given += giver.user(collection, uid)
        on_progress(len(page))
        after = page[-1]
    cleared = finish_give_back(db, collection, lambda: not giver.owners(collection, limit=1))
    return GiveBackReport(users=given, cleared=cleared)
