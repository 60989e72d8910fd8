"""Tools installed into virtualenvs of their own under `.local/tools/`, once per machine.

They pin packages that conflict with the project's (the Cloud Tasks emulator pins protobuf<5;
checkov ships its own `hcl2` module), so each lives apart. `make install` builds them in
parallel with the project venv and firebase-tools; tests and the stack call the same functions,
which return at once when a stamp file says the tool is there. They are built with the uv that
`make install` puts beside the interpreter (pinned by requirements-uv.lock), and with the
standard library's venv and pip where there is none (an interpreter of another venv).
"""

from __future__ import annotations

import argparse
import fcntl
import shutil
import subprocess
import sys
from pathlib import Path

from devstack.venvs import venv_commands

ROOT = Path(__file__).resolve().parents[1]
CHECKOV_VERSION = "3.3.30"


def checkov_venv(root: Path = ROOT) -> Path:
    return root / ".local" / "tools" / "checkov"


def install_checkov(root: Path = ROOT) -> Path:
    """The checkov venv's bin directory; installs it on first use (a stamp makes reruns free)."""
    venv = checkov_venv(root)
    stamp = venv / f".installed-{CHECKOV_VERSION}"
    bin_dir = venv / "bin"
    if stamp.exists():
        return bin_dir
    venv.parent.mkdir(parents=True, exist_ok=True)
    with (venv.parent / "checkov.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two runs at once install it once
        if not stamp.exists():
            shutil.rmtree(venv, ignore_errors=True)
            for argv in venv_commands(venv, f"checkov=={CHECKOV_VERSION}"):
                subprocess.run(argv, check=True, timeout=900)
            stamp.touch()
    return bin_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Install the tools that live in venvs of their own."
    )
    parser.add_argument("tool", choices=["tasks-emulator", "checkov"])
    args = parser.parse_args(argv)
    if args.tool == "checkov":
        install_checkov()
    else:
        from devstack.tasks_emulator import ensure_installed

        ensure_installed(ROOT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
