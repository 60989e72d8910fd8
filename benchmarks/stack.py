"""A whole local stack on free ports for one benchmark, in a directory of its own.

Started before the block, stopped after it whatever happens (a SIGTERM included: SystemExit
unwinds the block), the process's environment and cached clients restored, its directory
removed. Every benchmark that needs the emulators and PostgreSQL uses this one.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def private_stack(name: str) -> Iterator[Any]:
    """The started `devstack.stack.Stack`, its variables in `os.environ` for the block."""
    from devstack.stack import Ports, Stack, StackConfig
    from shared import clients, container
    from shared.settings import get_settings

    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    state = ROOT / ".local" / f"bench-{name}-{os.getpid()}"
    shutil.rmtree(state, ignore_errors=True)
    # The emulators as they start by default (no lean start-up): the figures stay comparable
    # with the runs before that option existed.
    config = StackConfig(
        state_dir=state, ports=Ports.free(), wipe_postgres=True, lean_emulators=False
    )
    stack = Stack(config)
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
