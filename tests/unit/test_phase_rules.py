"""Phases: stable percentage rollout, the phase before, the per-instance cache, and which
changes are refused (sql_only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.migration.phases import (
    PHASES,
    CollectionPhase,
    Phase,
    PhaseConfig,
    Phases,
    bucket,
    check_change,
    parse_config,
    phase_for,
    previous,
    settled,
    steps_back_from_sql_only,
)


def test_a_percentage_takes_a_stable_growing_share_of_users() -> None:
    uids = [f"user{i}" for i in range(2000)]
    chosen = {}
    for percent in (0, 10, 50, 100):
        config = PhaseConfig().with_phase("sessions", "sql_primary", percent)
        chosen[percent] = {u for u in uids if phase_for(config, "sessions", u) == "sql_primary"}
    assert chosen[0] == set() and chosen[100] == set(uids)
    assert chosen[10] <= chosen[50] <= chosen[100]  # growing never moves a user back
    assert 120 <= len(chosen[10]) <= 280 and 850 <= len(chosen[50]) <= 1150
    config = PhaseConfig().with_phase("sessions", "sql_primary", 10)
    others = {phase_for(config, "sessions", u) for u in uids} - {"sql_primary"}
    assert others == {"shadow_read"}


def test_buckets_differ_per_collection_and_never_change() -> None:
    # Known values: every instance, in every process and release, puts a user in the same
    # bucket (a salted or per-process hash would move users between phases).
    assert bucket("sessions", "abc") == 8181
    assert bucket("devices", "abc") == 7315
    assert 0 <= bucket("devices", "abc") < 10_000
    spread = {bucket(c, "same-user") for c in ("users", "devices", "sessions", "schedules")}
    assert len(spread) > 1


def test_the_phase_before_each_phase() -> None:
    assert [previous(p) for p in PHASES] == [
        "firestore_only",
        "firestore_only",
        "dual_write",
        "shadow_read",
        "sql_primary",
    ]


def test_defaults_are_dual_write_everywhere() -> None:
    config = parse_config(None)
    assert phase_for(config, "users", "u") == "dual_write"
    assert parse_config({"collections": {"devices": {"phase": "shadow_read"}}}).of(
        "devices"
    ).percent == pytest.approx(100.0)


def test_phases_are_reread_after_their_ttl_and_kept_when_unreadable() -> None:
    now = [0.0]
    loads: list[PhaseConfig | Exception] = [
        PhaseConfig().with_phase("users", "shadow_read", 100),
        RuntimeError("firestore unreachable"),
        PhaseConfig().with_phase("users", "sql_primary", 100),
    ]
    calls = []

    def load() -> PhaseConfig:
        item = loads[len(calls)]
        calls.append(item)
        if isinstance(item, Exception):
            raise item
        return item

    phases = Phases(load, ttl_s=30, clock=lambda: now[0])
    assert phases.of("users", "u") == "shadow_read"
    now[0] = 10
    assert phases.of("users", "u") == "shadow_read" and len(calls) == 1  # cached
    now[0] = 31
    assert phases.of("users", "u") == "shadow_read" and len(calls) == 2  # error: keep last
    now[0] = 62
    assert phases.of("users", "u") == "sql_primary" and len(calls) == 3


def test_unreadable_phases_with_nothing_read_yet_are_the_defaults() -> None:
    def fail() -> PhaseConfig:
        raise RuntimeError("down")

    assert Phases(fail, ttl_s=30).of("sessions", "u") == "dual_write"


NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def setting(phase: Phase, percent: float = 100, age_s: float | None = 3600) -> CollectionPhase:
    changed = None if age_s is None else NOW - timedelta(seconds=age_s)
    return CollectionPhase(phase=phase, percent=percent, changed_at=changed)


@pytest.mark.parametrize("phase", ["firestore_only", "dual_write", "shadow_read", "sql_primary"])
@pytest.mark.parametrize("current", ["firestore_only", "dual_write", "shadow_read", "sql_primary"])
def test_steps_below_sql_only_are_always_allowed(current: Phase, phase: Phase) -> None:
    check_change("devices", setting(current, 30, age_s=0), phase, 50, NOW, settle_s=60)


def test_sql_only_by_percentage_for_all_but_devices_which_move_at_once_after_the_copy() -> None:
    for collection in ("sessions", "users", "schedules"):
        check_change(collection, setting("sql_primary"), "sql_only", 10, NOW, settle_s=60)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="take-over-devices"):
        check_change("devices", setting("sql_primary"), "sql_only", 100, NOW, settle_s=60)
    with pytest.raises(ValueError, match="all at once"):
        check_change("devices", setting("sql_primary"), "sql_only", 50, NOW, 60, True)
    check_change("devices", setting("sql_primary"), "sql_only", 100, NOW, 60, True)


@pytest.mark.parametrize(
    ("current", "why"),
    [
        (setting("shadow_read"), "sql_primary at 100% first"),
        (setting("sql_primary", 99), "sql_primary at 100% first"),
        (setting("sql_primary", age_s=59), "retry in 1 s"),
        (setting("sql_primary", age_s=None), "must be in place"),  # never set: age unknown
    ],
)
def test_sql_only_needs_sql_primary_everywhere_and_settled(
    current: CollectionPhase, why: str
) -> None:
    with pytest.raises(ValueError, match=why):
        check_change("sessions", current, "sql_only", 10, NOW, settle_s=60)


def test_sql_only_steps_back_only_as_far_as_sql_primary_everywhere() -> None:
    current = setting("sql_only", 20, age_s=0)
    check_change("sessions", current, "sql_only", 100, NOW, settle_s=60)
    check_change("sessions", current, "sql_only", 10, NOW, settle_s=60)  # the rest: sql_primary
    check_change("sessions", current, "sql_primary", 100, NOW, settle_s=60)
    for back, percent in (("sql_primary", 50), ("shadow_read", 100), ("dual_write", 100)):
        with pytest.raises(ValueError, match="sql_primary at 100%"):
            check_change("sessions", current, back, percent, NOW, settle_s=60)  # type: ignore[arg-type]


def test_devices_step_back_from_sql_only_all_at_once() -> None:
    current = setting("sql_only", age_s=0)
    check_change("devices", current, "sql_primary", 100, NOW, settle_s=60)
    for back, percent in (("sql_only", 50), ("sql_primary", 50), ("dual_write", 100)):
        with pytest.raises(ValueError, match="all at once"):
            check_change("devices", current, back, percent, NOW, settle_s=60)  # type: ignore[arg-type]


def test_while_giving_back_nothing_goes_below_sql_primary_everywhere() -> None:
    giving = CollectionPhase(phase="sql_primary", percent=100, changed_at=NOW, give_back=True)
    for back, percent in (("sql_primary", 99), ("shadow_read", 100), ("firestore_only", 100)):
        with pytest.raises(ValueError, match="give-back sessions"):
            check_change("sessions", giving, back, percent, NOW, settle_s=60)  # type: ignore[arg-type]
    check_change("sessions", giving, "sql_primary", 100, NOW, settle_s=60)
    # Forward again: the usual settle rule.
    with pytest.raises(ValueError, match="must be in place"):
        check_change("sessions", giving, "sql_only", 100, NOW, settle_s=60)
    check_change("sessions", giving, "sql_only", 100, NOW + timedelta(seconds=60), settle_s=60)


def test_a_step_back_is_settled_once_every_instance_can_have_read_it() -> None:
    back = CollectionPhase(phase="sql_primary", changed_at=NOW, give_back=True)
    assert not settled(back, NOW + timedelta(seconds=59), 60)
    assert settled(back, NOW + timedelta(seconds=60), 60)
    assert steps_back_from_sql_only(setting("sql_only", 50), "sql_only", 40)
    assert steps_back_from_sql_only(setting("sql_only", 50), "sql_primary", 100)
    assert not steps_back_from_sql_only(setting("sql_only", 50), "sql_only", 60)
    assert not steps_back_from_sql_only(setting("sql_primary"), "shadow_read", 100)


def test_the_change_time_survives_the_config_document() -> None:
    config = PhaseConfig().with_phase("sessions", "sql_primary", 100, changed_at=NOW)
    stored = {"collections": config.model_dump(mode="json")["collections"]}
    assert parse_config(stored).of("sessions").changed_at == NOW
