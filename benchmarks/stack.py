"""A whole local stack on free ports for one benchmark, in a directory of its own.

Started before the block, stopped after it whatever happens (a SIGTERM included: SystemExit
unwinds the block), the process's environment and cached clients restored, its directory
removed. Every benchmark that needs the emulators and PostgreSQL uses this one.

It runs the functions with the deployed values of the settings that `make dev` changes for a
developer's convenience: traces sampled at the deployed ratio (`make dev` keeps every one,
written synchronously to a file) and the migration phases cached as long as deployed (`make
dev` rereads them every 2 s, so that `focusctl` changes show at once). A benchmark measures
what production would run, not the developer's conveniences; the emulators start as they do
by default (not the tests' lean start-up), so figures compare with earlier runs.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devstack.stack import StackConfig

ROOT = Path(__file__).resolve().parents[1]


def deployed_config(state: Path) -> StackConfig:
    """A stack on free ports in `state`, its functions set as deployed where `make dev` is not."""
    from devstack.stack import Ports, StackConfig
    from shared.settings import Settings

    deployed = Settings.model_fields
    return StackConfig(
        state_dir=state,
        ports=Ports.free(),
        wipe_postgres=True,
        phase_cache_s=deployed["phase_cache_s"].default,
        trace_sample_ratio=deployed["trace_sample_ratio"].default,
        # The emulators as they start by default (no lean start-up): the figures stay
        # comparable with the runs before that option existed.
        lean_emulators=False,
    )


@contextmanager
def private_stack(name: str) -> Iterator[Any]:
    """The started `devstack.stack.Stack`, its variables in `os.environ` for the block."""
    from devstack.stack import Stack
    from shared import clients, container
    from shared.settings import get_settings

    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    state = ROOT / ".local" / f"bench-{name}-{os.getpid()}"
    shutil.rmtree(state, ignore_errors=True)
    stack = Stack(deployed_config(state))
    saved = dict(os.environ)
    try:
        stack.start()  # stops what it started when it fails
    except BaseException:
        shutil.rmtree(state, ignore_errors=True)
        raise
    os.environ.update(stack.env())

    def reset() -> None:
        get_settings.cache_clear()
        clients.reset_for_tests()
        container.reset()

    reset()
    try:
        yield stack
    finally:
        stack.stop()
        os.environ.clear()
        os.environ.update(saved)
        reset()
        shutil.rmtree(state, ignore_errors=True)
