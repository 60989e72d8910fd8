"""Every deployed function, by name: deploy and the local server discover them here.

One module per trigger family: `callables` (Firebase callable protocol for the apps),
`http_handlers` (Pub/Sub push targets, scheduled jobs, Cloud Tasks targets).

A deployed instance serves one function, looked up here by its plain name (`FUNCTION_TARGET`),
so the names are resolved lazily (PEP 562 `__getattr__`): the instance imports only the module
of its function, and that module loads the firebase-functions SDK only where a request needs it
(shared/endpoints/). Discovery (`firebase deploy`, the local functions server) lists `__all__`
or `dir()`, and fetching each name imports its module; the manifest entries are then attached
(shared/endpoints/options.py).
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "functions.callables": (
        "bootstrapAccount",
        "deleteAccount",
        "deleteSchedule",
        "exportAccount",
        "listSchedules",
        "registerDevice",
        "syncFocusSessions",
        "unregisterDevice",
        "upsertSchedule",
    ),
    "functions.http_handlers": (
        "deliverPush",
        "mirrorChanges",
        "purgeTombstones",
        "refillPushHorizon",
        "sweepAccountDeletions",
    ),
}
_HOME = {name: module for module, names in _HOMES.items() for name in names}

# Names, not objects: each is resolved by `__getattr__` below (PEP 562).
__all__ = sorted(_HOME)  # noqa: PLE0605


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    function = getattr(importlib.import_module(module), name)
    globals()[name] = function  # later lookups are plain attribute reads
    return function


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
