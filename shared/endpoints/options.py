"""The deploy options every entry point takes from its registry entry (shared/registry.py)."""

from __future__ import annotations

from typing import Any

from shared import registry


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
