"""Phases: stable percentage rollout, the phase before, and the per-instance cache."""

from __future__ import annotations

import pytest

from shared.mirror.phases import (
    PHASES,
    PhaseConfig,
    Phases,
    bucket,
    parse_config,
    phase_for,
    previous,
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
    assert bucket("sessions", "abc") == bucket("sessions", "abc")
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
