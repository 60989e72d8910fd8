"""What the stack's functions logged: one JSON object per line (shared/logs.py)."""

from __future__ import annotations

import json
from typing import Any

from devstack.stack import Stack


def functions_log(stack: Stack, process: str = "functions") -> list[dict[str, Any]]:
    """Every structured entry one of the processes serving the functions has written so far,
    oldest first (the server's own lines that are not JSON are left out): `functions` takes
    the apps' calls, `background` Pub/Sub pushes and Cloud Tasks (devstack/stack.py)."""
    entries = []
    for line in (stack.log_dir / f"{process}.log").read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries
