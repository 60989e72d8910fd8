"""The convergence property of tests/unit/test_sync_convergence.py, on the Firestore store.

Fewer examples (each runs dozens of syncs against the emulator); one user per example, so no
wipe is needed between them.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings

from shared.changes import CollectingSink
from shared.sessions.repository import FirestoreSessionStore
from tests.unit.test_sync_convergence import (
    OWN_WRITE_MUST_COME_BACK,
    REPLAY_AND_TIE,
    programs,
    run_program,
    service_server,
)

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def firestore_store(stack: Any) -> FirestoreSessionStore:
    from shared.clients import firestore_client

    return FirestoreSessionStore(firestore_client(), CollectingSink())


def test_devices_converge_on_firestore(firestore_store: FirestoreSessionStore) -> None:
    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        database=None,
    )
    @given(programs)
    @example(OWN_WRITE_MUST_COME_BACK)
    @example(REPLAY_AND_TIE)
    def converge(program: tuple[int, list[tuple[Any, ...]]]) -> None:
        run_program(service_server(firestore_store, f"u-{uuid.uuid4().hex[:12]}"), program)

    converge()
