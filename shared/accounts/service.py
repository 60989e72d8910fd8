"""Account use cases; pure decisions live in `models`, storage behind `AccountStore`."""

from __future__ import annotations

from datetime import datetime

from shared.accounts.models import BootstrapAccountRequest, BootstrapAccountResult, plan_bootstrap
from shared.accounts.repository import AccountStore


def bootstrap_account(
    store: AccountStore, uid: str, request: BootstrapAccountRequest, now: datetime
) -> BootstrapAccountResult:
    """Create the profile, or update its time zone and locale; idempotent."""
    profile, created = store.save_profile(
        uid, lambda existing: plan_bootstrap(existing, uid, request, now)
    )
    return BootstrapAccountResult(user=profile, created=created)
