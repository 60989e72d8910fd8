"""Plain HTTP functions (Cloud Tasks targets): `http_function` declares one."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from shared import registry

if TYPE_CHECKING:
    import flask


def http_function(
    handler: Callable[[flask.Request], flask.Response],
) -> Callable[[flask.Request], flask.Response]:
    """Declare a plain HTTP function (a Cloud Tasks target) with its registry options.

    The handler is the view itself: the SDK's `on_request` wrapper would add only its `init`
    hook and CORS, neither of which these functions use, and its import (Flask, firebase_admin,
    google.auth) at every cold start. Discovery gets the same manifest entry (`describe`).
    """
    from shared.endpoints.options import describe

    describe(handler, registry.function(handler.__name__), callable_=False)
    return handler
