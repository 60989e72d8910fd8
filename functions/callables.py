"""Callable functions (Firebase callable protocol) for the iOS and Android apps.

Only thin declarations: each function parses its request, calls one service and returns a model.
Imports of services happen inside the functions so a cold start loads only what it runs.
"""

from __future__ import annotations

from typing import Any

from shared.callable import Call, callable_endpoint


@callable_endpoint()
def bootstrapAccount(call: Call) -> Any:
    from shared import container
    from shared.accounts.models import BootstrapAccountRequest
    from shared.accounts.service import bootstrap_account

    request = call.parse(BootstrapAccountRequest)
    return bootstrap_account(container.account_store(), call.uid, request, call.now)
