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
    """Declare a plain HTTP function (a Cloud Tasks target) with its registry options."""
    from firebase_functions import https_fn

    from shared.endpoints.options import deploy_options

    spec = registry.function(handler.__name__)
    view: Callable[[flask.Request], flask.Response] = https_fn.on_request(**deploy_options(spec))(
        handler
    )
    return view
