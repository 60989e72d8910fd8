"""Pure parts of the mirror: the engine's production configuration, the connection budget,
the consumer's outcomes, key ranges and document records (no emulator, no database)."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared import registry
from shared.changes import ChangeRecord
from shared.migration.tools.firestore_source import UID_ALPHABET, record_from_document, uid_ranges
from shared.settings import Settings
from shared.sql.consumer import PoisonMessage, handle_message
from shared.sql.engine import build_engine, connector_creator, pool_options
from shared.sql.events import AccountErased, ChangeBatch, encode
from shared.sql.writes import ApplyResult

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


class RecordingConnector:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def connect(self, instance_connection_string: str, driver: str, **kwargs: Any) -> Any:
        self.calls.append((instance_connection_string, driver, kwargs))
        raise ConnectionRefusedError("not connecting in a unit test")


def _prod_settings(**extra: Any) -> Settings:
    return Settings(
        env="local",
        sql_instance="proj:europe-west1:focus",
        sql_iam_user="mirrorchanges@proj.iam",
        sql_pool_size=4,
        **extra,
    )


def test_production_connects_through_the_connector_with_iam_auth_and_private_ip() -> None:
    connector = RecordingConnector()
    creator = connector_creator(_prod_settings(), connector)
    with pytest.raises(ConnectionRefusedError):
        creator()
    instance, driver, kwargs = connector.calls[0]
    assert (instance, driver) == ("proj:europe-west1:focus", "pg8000")
    assert kwargs == {
        "user": "mirrorchanges@proj.iam",
        "db": "focus",
        "enable_iam_auth": True,
        "ip_type": "private",
    }


def test_the_production_engine_uses_pg8000_and_a_small_fixed_pool() -> None:
    engine = build_engine(_prod_settings(), RecordingConnector())
    try:
        assert engine.url.drivername == "postgresql+pg8000"
        assert engine.pool.size() == 4  # type: ignore[attr-defined]
        assert engine.pool._max_overflow == 0  # type: ignore[attr-defined]
        assert engine.pool._pre_ping is True
    finally:
        engine.dispose()
    assert pool_options(_prod_settings())["max_overflow"] == 0


def test_the_local_engine_uses_psycopg_on_the_dsn() -> None:
    settings = Settings(env="local", postgres_dsn="postgresql://focus@127.0.0.1:5/focus")
    engine = build_engine(settings)
    assert engine.url.drivername == "postgresql+psycopg"
    engine.dispose()


def test_peak_sql_connections_stay_under_the_instance_limit() -> None:
    """max_instances x sql_pool (Terraform's FOCUS_SQL_POOL_SIZE) over every function with the
    SQL role, plus what the migrator and operators keep, under prod's max_connections; and
    exactly the functions with the SQL role have a pool."""
    sql_functions = [f for f in registry.FUNCTIONS if registry.SQL_INSTANCE_USER in f.roles]
    assert all((f.sql_pool > 0) == (f in sql_functions) for f in registry.FUNCTIONS)
    # Every path that reads or writes SQL in some phase (docs/MIGRATION.md).
    assert {f.name for f in sql_functions} >= {
        "mirrorChanges",
        "syncFocusSessions",
        "exportAccount",
        "deleteAccount",
        "bootstrapAccount",
        "registerDevice",
        "upsertSchedule",
        "listSchedules",
        "deliverPush",
        "purgeTombstones",
    }
    peak = sum(f.max_instances * f.sql_pool for f in sql_functions)
    prod = (Path(__file__).parents[2] / "infra" / "environments" / "prod" / "main.tf").read_text()
    (max_connections,) = re.findall(r"max_connections\s*=\s*(\d+)", prod)
    assert peak + 20 <= int(max_connections)


def test_the_mirror_is_declared_in_the_registry() -> None:
    consumer = registry.function("mirrorChanges")
    assert consumer.topic == "mirror-changes"
    topic = registry.topic("mirror-changes")
    assert topic.dead_letter_topic == "mirror-changes-dead-letter"
    assert 5 <= topic.max_delivery_attempts <= 100
    # Reconcile is no function any more: Cloud Scheduler runs its Cloud Run jobs
    # (tests/infra/test_jobs_schedule.py).
    assert "reconcileMirror" not in {f.name for f in registry.FUNCTIONS}
    assert not [j for j in registry.SCHEDULED_JOBS if "reconcile" in j.name]


class FakeApplier:
    def __init__(self, error: Exception | None = None, fenced: bool = False) -> None:
        self.error = error
        self.fenced = fenced
        self.batches: list[ChangeBatch] = []
        self.erased: list[tuple[str, int]] = []

    def apply(self, batch: ChangeBatch) -> ApplyResult:
        if self.error is not None:
            raise self.error
        self.batches.append(batch)
        if self.fenced:  # SQL owns these documents (sql_only): refused, and acked
            return ApplyResult(fenced=len(batch.records))
        return ApplyResult(applied=len(batch.records))

    def erase_user(self, uid: str, version: int) -> int:
        self.erased.append((uid, version))
        return 3


def _batch() -> ChangeBatch:
    record = ChangeRecord(
        collection="users",
        uid="u1",
        id="u1",
        op="upsert",
        version=5,
        data={"uid": "u1", "timezone": "UTC", "locale": None, "createdAt": NOW.isoformat()},
    )
    return ChangeBatch(records=[record], emitted_at=NOW)


def test_the_consumer_applies_batches_and_erasures() -> None:
    applier = FakeApplier()
    outcome = handle_message(encode(_batch()), applier, NOW)
    assert (outcome.kind, outcome.applied, outcome.lag_ms) == ("changes", 1, 0.0)
    erased = handle_message(encode(AccountErased(uid="u1", version=9)), applier, NOW)
    assert erased.rows_erased == 3 and applier.erased == [("u1", 9)]


def test_fenced_records_are_acked_and_counted_in_the_log_line() -> None:
    outcome = handle_message(encode(_batch()), FakeApplier(fenced=True), NOW)
    fields = outcome.log_fields()
    assert (fields["applied"], fields["fenced"], fields["records"]) == (0, 1, 1)


@pytest.mark.parametrize("body", [b"", b"not json", b'{"kind": "changes"}', b'{"kind": "x"}'])
def test_undecodable_messages_are_poison(body: bytes) -> None:
    with pytest.raises(PoisonMessage):
        handle_message(body, FakeApplier(), NOW)


def test_unmirrorable_data_is_poison_and_database_faults_are_not() -> None:
    from shared.sql.events import ChangeDataError

    with pytest.raises(PoisonMessage):
        handle_message(encode(_batch()), FakeApplier(ChangeDataError("bad")), NOW)
    with pytest.raises(ConnectionError):  # transient: answered 500, retried
        handle_message(encode(_batch()), FakeApplier(ConnectionError("pg down")), NOW)


def test_uid_ranges_cover_every_key_once_and_are_stable() -> None:
    for count in (1, 2, 4, 7, 62, 100):
        ranges = uid_ranges(count)
        assert ranges == uid_ranges(count)
        assert ranges[0].low is None and ranges[-1].high is None
        for left, right in itertools.pairwise(ranges):
            assert left.high == right.low and left.high is not None
        lows = [r.low for r in ranges[1:]]
        assert lows == sorted(lows)  # type: ignore[type-var]
    assert all(c in UID_ALPHABET for r in uid_ranges(4)[1:] for c in r.low or "")
    # Known bounds: a backfill resumed by another process finds its partitions by index.
    assert [(r.low, r.high) for r in uid_ranges(2)] == [(None, "V0"), ("V0", None)]
    assert [(r.low, r.high) for r in uid_ranges(4)] == [
        (None, "FV"),
        ("FV", "V0"),
        ("V0", "kV"),
        ("kV", None),
    ]


def test_document_records_keep_mirrored_fields_only() -> None:
    device = record_from_document(
        "users/u1/devices/d1",
        {
            "platform": "ios",
            "appVersion": None,
            "registeredAt": NOW,
            "fcmToken": "secret-token",
            "pushBudget": 3,
        },
        NOW,
    )
    assert device is not None and device.data is not None
    assert "fcmToken" not in device.data and device.data["deviceId"] == "d1"
    session = record_from_document(
        "users/u1/sessions/~__x__",
        {"id": "__x__", "updatedAt": NOW, "deviceId": "d", "deleted": True, "syncSeq": 4},
        NOW,
    )
    assert session is not None and session.id == "__x__" and session.data is not None
    assert session.data["serverUpdatedAt"] == NOW and session.data["syncSeq"] == 4
    assert record_from_document("users/u1", {}, NOW) is None  # a parent without a profile
    assert record_from_document("fcmTokens/abc", {"uid": "u1"}, NOW) is None
