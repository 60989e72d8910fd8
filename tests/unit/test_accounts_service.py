"""bootstrapAccount's service against an in-memory store."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.accounts.models import BootstrapAccountRequest, UserProfile
from shared.accounts.repository import ProfilePlanner
from shared.accounts.service import bootstrap_account
from shared.errors import InvalidArgument
from shared.wire import parse

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class FakeAccountStore:
    def __init__(self) -> None:
        self.profiles: dict[str, UserProfile] = {}
        self.writes = 0

    def get_profile(self, uid: str) -> UserProfile | None:
        return self.profiles.get(uid)

    def save_profile(self, uid: str, plan: ProfilePlanner) -> tuple[UserProfile, bool]:
        profile, created, changed = plan(self.profiles.get(uid))
        if changed:
            self.profiles[uid] = profile
            self.writes += 1
        return profile, created


def request(**data: object) -> BootstrapAccountRequest:
    return parse(BootstrapAccountRequest, data)


def test_first_call_creates_the_profile() -> None:
    store = FakeAccountStore()
    result = bootstrap_account(store, "u1", request(timezone="Europe/Paris", locale="fr-FR"), NOW)
    assert result.created is True
    assert result.to_wire() == {
        "user": {
            "uid": "u1",
            "timezone": "Europe/Paris",
            "locale": "fr-FR",
            "createdAt": "2026-11-22T09:00:00.000Z",
        },
        "created": True,
    }


def test_second_call_updates_zone_and_keeps_creation_time() -> None:
    store = FakeAccountStore()
    bootstrap_account(store, "u1", request(timezone="Europe/Paris", locale="fr-FR"), NOW)
    result = bootstrap_account(store, "u1", request(timezone="America/New_York"), LATER)
    assert result.created is False
    assert result.user.timezone == "America/New_York"
    assert result.user.locale == "fr-FR"  # an omitted locale keeps the stored one
    assert result.user.created_at == NOW


def test_unchanged_profile_is_not_written_again() -> None:
    store = FakeAccountStore()
    bootstrap_account(store, "u1", request(timezone="Europe/Paris"), NOW)
    bootstrap_account(store, "u1", request(timezone="Europe/Paris"), LATER)
    assert store.writes == 1


def test_locale_is_nullable_and_present_in_results() -> None:
    result = bootstrap_account(FakeAccountStore(), "u1", request(timezone="UTC"), NOW)
    assert "locale" in result.to_wire()["user"]
    assert result.to_wire()["user"]["locale"] is None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "data.timezone"),
        ({"timezone": "Mars/Olympus"}, "data.timezone"),
        ({"timezone": 3}, "data.timezone"),
        ({"timezone": "UTC", "locale": 7}, "data.locale"),
        ({"timezone": "UTC", "locale": "x" * 200}, "data.locale"),
        ({"timezone": "UTC", "extra": True}, "data.extra"),
    ],
)
def test_malformed_requests_name_the_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse(BootstrapAccountRequest, data)
    assert err.value.message.startswith(field)
