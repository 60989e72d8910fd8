"""Every deployed function, re-exported: deploy and the local server discover them here.

One module per trigger family: `callables` (Firebase callable protocol for the apps),
`http_handlers` (Pub/Sub push targets, scheduled jobs, Cloud Tasks targets).
"""

from functions.callables import (
    bootstrapAccount,
    deleteAccount,
    deleteSchedule,
    exportAccount,
    listSchedules,
    registerDevice,
    syncFocusSessions,
    unregisterDevice,
    upsertSchedule,
)
from functions.http_handlers import (
    deliverPush,
    mirrorChanges,
    purgeTombstones,
    refillPushHorizon,
    sweepAccountDeletions,
)

__all__ = [
    "bootstrapAccount",
    "deleteAccount",
    "deleteSchedule",
    "deliverPush",
    "exportAccount",
    "listSchedules",
    "mirrorChanges",
    "purgeTombstones",
    "refillPushHorizon",
    "registerDevice",
    "sweepAccountDeletions",
    "syncFocusSessions",
    "unregisterDevice",
    "upsertSchedule",
]
