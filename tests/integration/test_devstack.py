"""The local stack as `make dev` runs it: start, describe, refuse clashes, stop without orphans."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from devstack import emulators
from devstack.process import StackError, port_is_free
from devstack.stack import ROOT, Ports, Stack, StackConfig
from tests.support.waiting import wait_for

DESCRIPTOR_KEYS = {
    "projectId",
    "region",
    "functionsBaseUrl",
    "firestoreHost",
    "authHost",
    "pubsubHost",
    "postgresDsn",
    "fcmUrl",
}


def test_a_taken_port_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        ports = Ports.free()
        ports = Ports(**{**ports.__dict__, "firestore": taken})
        stack = Stack(StackConfig(state_dir=tmp_path / "state", ports=ports))
        with pytest.raises(StackError, match=rf"port\(s\) already in use: firestore \({taken}\)"):
            stack.start()


def test_a_missing_tool_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    emulators.sdk_root.cache_clear()
    try:
        with pytest.raises(StackError, match="gcloud"):
            emulators.sdk_root()
    finally:
        emulators.sdk_root.cache_clear()


def _processes_mentioning(marker: str) -> list[str]:
    # -ww: full command lines; plain ps cuts them at the terminal width (80 columns).
    ps_command = ["ps", "-eww", "-o", "pid,args"]
    out = subprocess.run(ps_command, capture_output=True, text=True, check=True)
    return [line for line in out.stdout.splitlines() if marker in line and "ps -eww" not in line]


def test_foreground_stack_writes_its_descriptor_and_ctrl_c_leaves_nothing(tmp_path: Path) -> None:
    state_dir = ROOT / ".local" / f"test-foreground-{os.getpid()}"
    descriptor = state_dir / "stack.json"
    ports = Ports.free()
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from devstack.stack import Ports, StackConfig, run_foreground\n"
        f"ports = Ports(**{ports.__dict__!r})\n"
        f"config = StackConfig(state_dir=Path({str(state_dir)!r}), ports=ports,\n"
        f"                     descriptor_path=Path({str(descriptor)!r}), wipe_postgres=True)\n"
        "sys.exit(run_foreground(config))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )

    def up() -> bool:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""  # it died
        return descriptor.exists()

    try:
        wait_for(up, 180, "the stack's descriptor")
        described = json.loads(descriptor.read_text())
        assert set(described) == DESCRIPTOR_KEYS
        assert described["functionsBaseUrl"] == (
            f"http://127.0.0.1:{ports.functions}/demo-focus/europe-west1"
        )
        assert described["fcmUrl"] == f"http://127.0.0.1:{ports.fcm}"
        assert _processes_mentioning(str(state_dir))  # the stack's own processes are there

        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
        output, _ = proc.communicate(timeout=90)
        assert proc.returncode == 0, output
        assert "Stopped." in output
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert not descriptor.exists()  # removed before the process exits

    def leftover_ports() -> list[str]:
        return [name for name, port in ports.__dict__.items() if not port_is_free(port)]

    # A stopped process group's last children may take a moment to be reaped: wait for that
    # (with a deadline), then say what is left, if anything.
    with contextlib.suppress(AssertionError):
        wait_for(
            lambda: not _processes_mentioning(str(state_dir)) and not leftover_ports(),
            30,
            "every process and port of the stack to be gone",
        )
    assert _processes_mentioning(str(state_dir)) == []
    assert leftover_ports() == []
