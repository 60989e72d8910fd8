"""focusctl's choice of target (focusctl/target.py): never a real project by accident, a clear
line for every target that cannot be used. Local stacks are stood in for by listening sockets;
the command itself runs as a subprocess where its output is what is checked."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from focusctl.target import Target, TargetError, choose

FOCUSCTL = Path(sys.executable).with_name("focusctl")


@pytest.fixture
def listening() -> Iterator[list[int]]:
    """Four ports that accept connections, as a running stack's would."""
    socks = []
    for _ in range(4):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        socks.append(sock)
    yield [s.getsockname()[1] for s in socks]
    for sock in socks:
        sock.close()


def descriptor(path: Path, ports: list[int]) -> Path:
    firestore, pubsub, auth, postgres = ports
    path.write_text(
        json.dumps(
            {
                "projectId": "demo-focus",
                "firestoreHost": f"127.0.0.1:{firestore}",
                "pubsubHost": f"127.0.0.1:{pubsub}",
                "authHost": f"127.0.0.1:{auth}",
                "postgresDsn": f"postgresql://focus@127.0.0.1:{postgres}/focus",
            }
        )
    )
    return path


def pick(
    default: Path,
    environ: dict[str, str] | None = None,
    project: str | None = None,
    local: bool = False,
) -> Target:
    return choose(
        project=project,
        local=local,
        stack_file=None,
        environ=environ or {},
        default_stack_file=default,
    )


def test_without_a_running_stack_nothing_is_chosen(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match=r"no target: the local stack is not running .*--project"):
        pick(tmp_path / "stack.json", {"GOOGLE_CLOUD_PROJECT": "prod-project"})


def test_the_running_stack_of_the_checkout_is_the_default(
    tmp_path: Path, listening: list[int]
) -> None:
    default = descriptor(tmp_path / "stack.json", listening)
    target = pick(default, {"GOOGLE_CLOUD_PROJECT": "prod-project"})
    assert target.description.startswith(f"the local stack ({default}): project demo-focus")
    environ = {"FOCUS_SQL_INSTANCE": "prod:europe-west1:main", "GOOGLE_CLOUD_PROJECT": "prod"}
    target.apply(environ)
    assert environ["GOOGLE_CLOUD_PROJECT"] == "demo-focus"
    assert environ["FIRESTORE_EMULATOR_HOST"] == f"127.0.0.1:{listening[0]}"
    assert "FOCUS_SQL_INSTANCE" not in environ  # SQL goes to the stack's PostgreSQL


def test_a_stack_that_does_not_answer_is_named(tmp_path: Path, listening: list[int]) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]  # bound, never listening: connections are refused
    default = descriptor(tmp_path / "stack.json", [port, *listening[1:]])
    with pytest.raises(TargetError, match=rf"does not answer \(Firestore at 127.0.0.1:{port}"):
        pick(default)
    closed.close()


def test_emulator_variables_win_over_the_descriptor(tmp_path: Path, listening: list[int]) -> None:
    default = descriptor(tmp_path / "stack.json", listening)
    environ = {"FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{listening[1]}"}
    target = pick(default, environ)
    assert "emulators from the environment" in target.description


def test_a_real_project_only_when_named_and_never_beside_emulators(
    tmp_path: Path, listening: list[int]
) -> None:
    default = descriptor(tmp_path / "stack.json", listening)
    with pytest.raises(TargetError, match="emulator variables are set"):
        pick(default, {"PUBSUB_EMULATOR_HOST": "127.0.0.1:1"}, project="prod-project")
    with pytest.raises(TargetError, match="leave out --local"):
        pick(default, project="prod-project", local=True)


def without_credentials(tmp_path: Path) -> dict[str, str]:
    """An environment with no Application Default Credentials to find; the metadata server
    probe is sent to a closed loopback port and skipped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "FOCUS_"))}
    env.update(
        {
            "HOME": str(tmp_path),
            "CLOUDSDK_CONFIG": str(tmp_path / "gcloud"),
            "NO_GCE_CHECK": "True",
            "GCE_METADATA_HOST": "127.0.0.1:9",
            "GCE_METADATA_IP": "127.0.0.1:9",
        }
    )
    for name in ("FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST"):
        env.pop(name, None)
    return env


def test_a_real_project_without_credentials_is_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(FOCUSCTL), "--project", "prod-project", "mirror", "phase", "show"],
        env=without_credentials(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: no credentials for project prod-project: run `gcloud")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_help_needs_no_target(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(FOCUSCTL), "mirror", "reconcile", "--help"],
        env=without_credentials(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "--sample" in result.stdout


def test_a_backend_lost_during_a_command_is_one_line() -> None:
    from google.api_core.exceptions import ServiceUnavailable
    from google.auth.exceptions import DefaultCredentialsError
    from sqlalchemy.exc import OperationalError

    from focusctl.cli import _failure_line

    refused = OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused\nmore"))
    assert _failure_line(refused) == "PostgreSQL: connection refused"
    lost = ServiceUnavailable("failed to connect to all addresses\ndetails")
    assert _failure_line(lost) == (
        "ServiceUnavailable from a Google API: 503 failed to connect to all addresses"
    )
    assert _failure_line(DefaultCredentialsError("not found")).startswith("credentials: not found")
    assert _failure_line(KeyError("a bug")) is None  # a bug keeps its traceback
