"""Wire and domain models of the user profile."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from shared.wire import Timestamp, TimeZoneName, WireModel

Locale = Annotated[
    str,
    Field(
        min_length=2,
        max_length=35,
        pattern=r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{1,8})*$",
        description="BCP 47 language tag, e.g. fr-FR",
    ),
]


class UserProfile(WireModel):
    """`user` in results: the profile as the apps see it."""

    uid: str
    timezone: str
    locale: str | None
    created_at: Timestamp


class BootstrapAccountRequest(WireModel):
    timezone: TimeZoneName
    locale: Locale | None = None


class BootstrapAccountResult(WireModel):
    user: UserProfile
    created: bool


def plan_bootstrap(
    existing: UserProfile | None, uid: str, request: BootstrapAccountRequest, now: datetime
) -> tuple[UserProfile, bool, bool]:
    """Pure decision of `bootstrapAccount`: (profile to keep, created, changed).

    A second call updates the time zone, and the locale when one is given (an omitted locale
    keeps the stored one); an unchanged profile is not written again.
    """
    if existing is None:
        profile = UserProfile(
            uid=uid, timezone=request.timezone, locale=request.locale, created_at=now
        )
        return profile, True, True
    locale = request.locale if request.locale is not None else existing.locale
    updated = existing.model_copy(update={"timezone": request.timezone, "locale": locale})
    return updated, False, updated != existing
