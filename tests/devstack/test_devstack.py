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
