"""How a tool's virtualenv of its own is made: the commands, with uv where `make install` put it.

Standard library only: devstack/tools.py and devstack/tasks_emulator.py (which must import
nothing else at the top) both build their venvs with it.
"""

from __future__ import annotations

import sys
from pathlib import Path


def venv_commands(venv: Path, requirement: str) -> list[list[str]]:
    """The commands that create `venv` with this interpreter and install `requirement` in it.

    With uv beside the interpreter (`make install` puts it in .venv/bin): a venv without pip
    (the tools never run pip) and uv's install, which resolves and unpacks several times
    faster than pip (docs/BENCHMARKS.md, "make test's time"). Without it, venv and pip.
    """
    python = venv / "bin" / "python"
    uv = Path(sys.executable).parent / "uv"
    if uv.exists():
        return [
            [str(uv), "venv", "--quiet", "--python", sys.executable, str(venv)],
            [str(uv), "pip", "install", "--quiet", "--python", str(python), requirement],
        ]
    return [
        [sys.executable, "-m", "venv", str(venv)],
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            requirement,
        ],
    ]
