"""What the stack's functions logged: one JSON object per line (shared/logs.py)."""

from __future__ import annotations

import json
from typing import Any

from devstack.stack import Stack


def functions_log(stack: Stack) -> list[dict[str, Any]]:
    """Every structured entry the functions process has written so far, oldest first (the
    server's own lines that are not JSON are left out)."""
    entries = []
    for line in (stack.log_dir / "functions.log").read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries
