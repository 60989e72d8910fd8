"""Where a load run goes: a local stack of its own (free ports, like every benchmark), or the
running `make dev` of this checkout (`.local/stack.json`)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.load.meter import Target

ROOT = Path(__file__).resolve().parents[2]
# The local stack's two processes that serve the functions (devstack/stack.py).
FUNCTION_PROCESSES = ("functions", "background")


def from_stack(stack: Any) -> Target:
    """The meter's view of a `devstack.stack.Stack` this process started."""
    from devstack.process import session_members

    def pids() -> list[int]:
        sessions = [stack.process(name).pid for name in FUNCTION_PROCESSES]
        return [pid for sid in sessions if sid is not None for pid in session_members(sid)]

    ports = stack.ports
    return Target(
        functions_base_url=stack.functions_base_url,
        auth_host=f"127.0.0.1:{ports.auth}",
        fcm_url=stack.fcm_url,
        postgres_dsn=stack.postgres_dsn,
        project_id=stack.config.project_id,
        region=stack.config.region,
        functions_logs=tuple(stack.log_dir / f"{name}.log" for name in FUNCTION_PROCESSES),
        tasks_host=f"127.0.0.1:{ports.tasks}",
        functions_pids=pids,
    )


def from_descriptor(path: Path) -> Target:
    """`make dev`'s stack as its descriptor describes it. The functions' CPU time is not read
    (the processes are `make dev`'s); the Tasks emulator is found at its `make dev` port."""
    described = json.loads(path.read_text())
    tasks_port = os.environ.get("FOCUS_DEV_TASKS_PORT", "9399")
    return Target(
        functions_base_url=described["functionsBaseUrl"],
        auth_host=described["authHost"],
        fcm_url=described["fcmUrl"],
        postgres_dsn=described["postgresDsn"],
        project_id=described["projectId"],
        region=described["region"],
        functions_logs=tuple(
            path.parent / "dev" / "logs" / f"{name}.log" for name in FUNCTION_PROCESSES
        ),
        tasks_host=f"127.0.0.1:{tasks_port}",
    )


@contextmanager
def own_stack() -> Iterator[Target]:
    """A whole local stack on free ports for the length of the block, then stopped."""
    from benchmarks.stack import private_stack

    with private_stack("load") as stack:
        yield from_stack(stack)
