"""The deploy options every entry point takes from its registry entry (shared/registry.py), and
the manifest entry deploy discovery reads from each function.

A deployed instance serves one function, which the runtime finds by its plain name
(`FUNCTION_TARGET`) and calls with a Flask request: it reads no manifest. So the manifest entry
(`__firebase_endpoint__`, built by the firebase-functions SDK, whose import pulls in Flask,
firebase_admin and google.auth) is attached only where something discovers functions: the
Firebase CLI, the local functions server, tests. A function's request path is the same in both
cases; the SDK loads there with the first request that needs it (token verification).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from shared import registry

# Set by the Cloud Run functions runtime in every deployed instance (the functions framework
# serves the function of that name).
FUNCTION_TARGET = "FUNCTION_TARGET"


def deploy_options(spec: registry.Function) -> dict[str, Any]:
    """The SDK decorator options of a function, from its registry entry (one source of truth)."""
    from firebase_functions import options

    return {
        "region": registry.REGION,
        "memory": options.MemoryOption(spec.memory_mb),
        "timeout_sec": spec.timeout_s,
        "max_instances": spec.max_instances,
        "concurrency": spec.concurrency,
        "cpu": 1 if spec.concurrency > 1 else None,
    }


def serving_one_function() -> bool:
    """Whether this process is a deployed instance serving one function by name."""
    return bool(os.environ.get(FUNCTION_TARGET))


def describe(view: Callable[..., Any], spec: registry.Function, *, callable_: bool) -> None:
    """Attach the manifest entry `https_fn.on_call` / `on_request` would attach to `view`
    (the same SDK call), unless this process serves one function and so reads none."""
    if serving_one_function():
        return
    from firebase_functions.options import HttpsOptions

    endpoint = HttpsOptions(**deploy_options(spec))._endpoint(
        func_name=spec.name, **({"callable": True} if callable_ else {})
    )
    view.__firebase_endpoint__ = endpoint  # type: ignore[attr-defined]
