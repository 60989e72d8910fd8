"""The local stack's refusals: a taken port, a missing tool.

How it starts, stops in every way, and keeps or drops its data: test_lifecycle.py.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from devstack import emulators
from devstack.process import StackError
from devstack.stack import Ports, Stack, StackConfig, dev_config


def test_a_taken_port_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    # The stack that holds the port wrote this descriptor; the refused one must leave it.
    descriptor = tmp_path / "stack.json"
    descriptor.write_text('{"projectId": "demo-focus"}')
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        ports = Ports.free()
        ports = Ports(**{**ports.__dict__, "firestore": taken})
        config = StackConfig(state_dir=tmp_path / "state", ports=ports, descriptor_path=descriptor)
        with pytest.raises(StackError, match=rf"port\(s\) already in use: firestore \({taken}\)"):
            Stack(config).start()
    assert descriptor.read_text() == '{"projectId": "demo-focus"}'


def test_one_switch_chooses_what_make_dev_does_with_earlier_data() -> None:
    assert dev_config({}).data == "fresh"
    assert dev_config({"FOCUS_DEV_DATA": "keep"}).data == "keep"
    with pytest.raises(StackError, match="FOCUS_DEV_DATA='kept': use 'fresh'"):
        dev_config({"FOCUS_DEV_DATA": "kept"})


def test_a_missing_tool_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    emulators.sdk_root.cache_clear()
    try:
        with pytest.raises(StackError, match="gcloud"):
            emulators.sdk_root()
    finally:
        emulators.sdk_root.cache_clear()


def test_a_part_that_dies_shows_the_log_it_writes_itself(tmp_path: Path) -> None:
    """firebase-tools prints "An unexpected error has occurred" and keeps the trace in its own
    firebase-debug.log: the stack's error shows both tails."""
    from devstack.process import ManagedProcess
    from tests.support.waiting import wait_for

    script = "echo console line; echo 'TypeError: the real cause' > debug.log; exit 3"
    proc = ManagedProcess(
        "part", ["sh", "-c", script], log_dir=tmp_path, cwd=tmp_path, own_log=tmp_path / "debug.log"
    )
    proc.start()
    try:
        wait_for(lambda: not proc.running, 30, "the part exiting")
        with pytest.raises(StackError, match=r"(?s)console line.*TypeError: the real cause"):
            proc.ensure_running()
    finally:
        proc.stop()
