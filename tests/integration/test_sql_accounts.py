"""The SQL account store of `sql_only` on the real emulator and PostgreSQL: the takeover copies
Firestore's profile, writes then go to SQL alone, the mirror fences Firestore's stale copies,
reconcile leaves the profile alone, and erasure leaves no trace of the ownership."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from devstack.stack import Stack
from shared.accounts.models import BootstrapAccountRequest
from shared.accounts.repository import FirestoreAccountStore
from shared.accounts.service import bootstrap_account
from shared.accounts.sql import SqlAccountStore
from shared.errors import Unavailable
from shared.migration.phased import PhasedAccountStore, PhasedChangeSink
from shared.migration.phases import PhaseConfig, fixed
from shared.sql.store import SqlMirrorStore
from tests.support.mirror import HeldMirror

pytestmark = pytest.mark.stack

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def bootstrap(store: Any, uid: str, timezone: str, locale: str | None = None) -> Any:
    request = BootstrapAccountRequest.model_validate({"timezone": timezone, "locale": locale})
    return bootstrap_account(store, uid, request, T0)


def sql_profile(sql: SqlMirrorStore, uid: str) -> dict[str, Any] | None:
    return sql.reads.get_user(uid)


def test_takeover_copies_the_firestore_profile_then_sql_alone_is_written(
    stack: Stack, sql: SqlMirrorStore
) -> None:
    from shared.clients import firestore_client

    uid = f"acct-{uuid.uuid4().hex[:10]}"
    mirror = HeldMirror(sql)  # never caught up: the takeover must not need the mirror
    firestore = FirestoreAccountStore(firestore_client(), mirror)
    bootstrap(firestore, uid, "Europe/Paris", "fr")
    assert sql_profile(sql, uid) is None

    owned = SqlAccountStore(sql, firestore_record=firestore.current_record)
    assert owned.get_profile(uid) == firestore.get_profile(uid)  # copied at the takeover
    assert sql.ownership.owned_collections(uid) == {"users"}
    again = bootstrap(owned, uid, "Asia/Tokyo")
    assert not again.created and again.user.locale == "fr"  # an omitted locale is kept
    stored = sql_profile(sql, uid)
    assert stored is not None and stored["timezone"] == "Asia/Tokyo"
    firestore_profile = firestore.get_profile(uid)
    assert firestore_profile is not None and firestore_profile.timezone == "Europe/Paris"

    # Firestore's copy is stale from now on: the mirror refuses it.
    result = mirror.catch_up()
    assert result.fenced == 1 and result.applied == 0
    stored = sql_profile(sql, uid)
    assert stored is not None and stored["timezone"] == "Asia/Tokyo"


def test_a_new_account_starts_in_sql(stack: Stack, sql: SqlMirrorStore) -> None:
    from shared.clients import firestore_client

    uid = f"acct-{uuid.uuid4().hex[:10]}"
    firestore = FirestoreAccountStore(firestore_client(), HeldMirror(sql))
    config = PhaseConfig().with_phase("users", "sql_only", 100)
    store = PhasedAccountStore(firestore, lambda: sql, fixed(config))
    first = bootstrap(store, uid, "UTC")
    assert first.created and bootstrap(store, uid, "UTC").created is False
    assert firestore.get_profile(uid) is None
    stored = sql_profile(sql, uid)
    assert stored is not None and stored["createdAt"] == T0


def test_a_lagging_sql_primary_instance_is_refused_after_the_takeover(
    stack: Stack, sql: SqlMirrorStore
) -> None:
    from shared.changes import CollectingSink
    from shared.clients import firestore_client

    uid = f"acct-{uuid.uuid4().hex[:10]}"
    primary = fixed(PhaseConfig().with_phase("users", "sql_primary", 100))
    sink = PhasedChangeSink(CollectingSink(), lambda: sql, primary)
    lagging = FirestoreAccountStore(firestore_client(), sink)
    bootstrap(lagging, uid, "UTC")  # sql_primary: applied to SQL before answering
    SqlAccountStore(sql, firestore_record=lagging.current_record).get_profile(uid)  # takeover
    with pytest.raises(Unavailable):
        bootstrap(lagging, uid, "Europe/Berlin")
    stored = sql_profile(sql, uid)
    assert stored is not None and stored["timezone"] == "UTC"


def test_reconcile_skips_and_erasure_forgets_an_owned_profile(
    stack: Stack, sql: SqlMirrorStore
) -> None:
    from shared.clients import firestore_client
    from shared.migration.tools.reconcile import FirestoreUsers, Reconciler

    uid = f"acct-{uuid.uuid4().hex[:10]}"
    firestore = FirestoreAccountStore(firestore_client(), HeldMirror(sql))
    bootstrap(firestore, uid, "UTC")
    owned = SqlAccountStore(sql, firestore_record=firestore.current_record)
    bootstrap(owned, uid, "America/New_York")

    reconciler = Reconciler(FirestoreUsers(firestore_client()), sql)
    result = reconciler.check(uid, repair=True)
    assert result.drifts == []
    stored = sql_profile(sql, uid)
    assert stored is not None and stored["timezone"] == "America/New_York"

    later = T0 + timedelta(days=365 * 30)
    sql.writer.erase_user(uid, int(later.timestamp() * 1_000_000))
    assert sql_profile(sql, uid) is None and sql.ownership.owned_collections(uid) == set()
    with sql.engine.connect() as conn:
        left = conn.execute(text("SELECT count(*) FROM sql_owners WHERE user_id = :u"), {"u": uid})
        assert left.scalar() == 0
