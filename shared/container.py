"""Dependencies built once per instance, on first use (cosmicpython's `bootstrap`).

Handlers ask this module for the stores and sinks they pass to services; tests build services
with fakes instead and never touch this module.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.accounts.repository import AccountStore
    from shared.changes import ChangeSink


@functools.cache
def change_sink() -> ChangeSink:
    from shared.mirror.publisher import PubSubChangeSink

    return PubSubChangeSink()


@functools.cache
def account_store() -> AccountStore:
    from shared.accounts.repository import FirestoreAccountStore
    from shared.clients import firestore_client

    return FirestoreAccountStore(firestore_client(), change_sink())


def reset() -> None:
    """Forget every built dependency (tests that switch emulators or settings)."""
    for cached in (change_sink, account_store):
        cached.cache_clear()
