"""`make dev`'s stack as a user meets it: stopped in every way, restarted, used by focusctl.

One chain of real `run_foreground` processes on the same ports and state directory, each run
the next one's precondition (its start fails with "port(s) already in use" if anything of the
one before is left):

1. Ctrl-C while the first parts are starting; then SIGHUP with the terminal gone (output fails);
2. SIGTERM once the Firestore emulator is ready;
3. a part that dies during the start (the FCM stand-in exits): named, everything stopped;
4. keep mode, up: the descriptor, a user written through callables, Ctrl-C (data saved);
5. keep mode again: the user is back, focusctl (a real subprocess, beside the stack) reconciles
   clean and names its target; then SIGKILL; focusctl on the stale descriptor: one line;
6. fresh mode: every store empty, reconcile clean; PostgreSQL killed: named, the stack stops.

After each run: within 10 s no process of it is left (every process the run started carries a
marker variable in its environment, read from /proc) and every port is free.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from devstack.process import port_is_free
from devstack.stack import ROOT, Ports
from tests.support.auth import sign_in, sign_up
from tests.support.callables import FunctionsClient
from tests.support.waiting import wait_for

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
    pytest.mark.timeout(900),  # three full starts and three partial ones, on 2 busy cores
]

MARK = "FOCUS_DEVSTACK_TEST_RUN"
FOCUSCTL = Path(sys.executable).with_name("focusctl")
DESCRIPTOR_KEYS = {
    "projectId",
    "region",
    "functionsBaseUrl",
    "firestoreHost",
    "authHost",
    "pubsubHost",
    "postgresDsn",
    "fcmUrl",
    "redisUrl",
}
# Runs `make dev`'s own entry point on the test's ports and directory; "fcm-dies" swaps the FCM
# stand-in for a process that exits with code 3 a second after it starts.
SCRIPT = """
import json, sys
from pathlib import Path
from devstack import fcm_standin
from devstack.stack import Ports, StackConfig, run_foreground
ports, state_dir, descriptor, data, plant = sys.argv[1:6]
if plant == "fcm-dies":
    fcm_standin.command = lambda python, port: [
        python, "-c", "import sys, time; time.sleep(1); sys.exit(3)"]
config = StackConfig(state_dir=Path(state_dir), ports=Ports(**json.loads(ports)),
                     descriptor_path=Path(descriptor), data=data)
sys.exit(run_foreground(config))
"""


class Run:
    """One `run_foreground` process; its output goes to a file the test reads while it runs."""

    def __init__(
        self, chain: Chain, data: str, plant: str = "", closed_terminal: bool = False
    ) -> None:
        self.mark = uuid.uuid4().hex
        self.output_path = chain.state_dir / f"run-{self.mark}.out"
        argv = [
            sys.executable,
            "-c",
            SCRIPT,
            json.dumps(chain.ports.__dict__),
            str(chain.state_dir),
            str(chain.descriptor),
            data,
            plant,
        ]
        with self.output_path.open("w") as out:
            self.proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                env={**os.environ, MARK: self.mark},
                # A closed terminal: output goes to a pipe nobody reads, so writes fail.
                stdout=subprocess.PIPE if closed_terminal else out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # signals go to it alone, as a terminal's would
            )
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    @property
    def output(self) -> str:
        return self.output_path.read_text()

    def wait_for_output(self, text: str, timeout: float) -> None:
        def seen() -> bool:
            if text in self.output:
                return True
            assert self.proc.poll() is None, f"exited ({self.proc.returncode}):\n{self.output}"
            return False

        try:
            wait_for(seen, timeout, f"{text!r} in the output")
        except AssertionError as err:
            raise AssertionError(f"{err}\n{self.output}") from err

    def send(self, sig: signal.Signals) -> None:
        os.kill(self.proc.pid, sig)

    def exit_code(self, timeout: float = 60) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"did not exit within {timeout:.0f} s:\n{self.output}") from None

    def processes(self) -> list[int]:
        """Every live process whose environment carries this run's mark."""
        needle = f"{MARK}={self.mark}".encode()
        found = []
        for environ in Path("/proc").glob("[0-9]*/environ"):
            try:
                if needle in environ.read_bytes().split(b"\0"):
                    found.append(int(environ.parent.name))
            except OSError:  # gone meanwhile, or a zombie
                continue
        return found

    def kill_leftovers(self) -> None:
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


class Chain:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.descriptor = state_dir / "stack.json"
        self.ports = _ports_below_the_ephemeral_range()
        self.runs: list[Run] = []

    def start(self, data: str = "fresh", plant: str = "", closed_terminal: bool = False) -> Run:
        run = Run(self, data, plant, closed_terminal)
        self.runs.append(run)
        return run

    def assert_nothing_left(self, run: Run, within: float = 10.0) -> None:
        """No process of `run` and no port of the stack in use, within `within` s."""

        def clean() -> bool:
            return not run.processes() and all(
                port_is_free(port) for port in self.ports.__dict__.values()
            )

        try:
            wait_for(clean, within, "every process of the run gone, every port free")
        except AssertionError as err:
            taken = [n for n, p in self.ports.__dict__.items() if not port_is_free(p)]
            left = [_cmdline(pid) for pid in run.processes()]
            raise AssertionError(f"{err}: left {left}, ports {taken}\n{run.output}") from err

    def descriptor_json(self) -> dict[str, Any]:
        return dict(json.loads(self.descriptor.read_text()))


def _ports_below_the_ephemeral_range() -> Ports:
    """Free ports that the kernel hands to no other process meanwhile.

    The chain keeps its ports for minutes without holding them, while the other pytest worker's
    tests bind servers to port 0 and open thousands of connections, each on an ephemeral port:
    one of them on a port of the chain fails the check that a run left every port free, and the
    next run's start (seen once: the functions port taken, no process of the run left, as this
    file ran beside the other worker's stack start). Ports below the kernel's ephemeral range
    are only ever taken by a process that asks for that very number.
    """
    import dataclasses
    import secrets

    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    start = max(1024, low - 10_000)
    chosen: dict[str, int] = {}
    for field in dataclasses.fields(Ports):
        port = 0
        while not port or port in chosen.values() or not port_is_free(port):
            port = start + secrets.randbelow(low - start)
        chosen[field.name] = port
    return Ports(**chosen)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
    except OSError:
        return f"{pid} (gone)"


@pytest.fixture
def chain() -> Any:
    state_dir = ROOT / ".local" / f"test-lifecycle-{os.getpid()}"
    state_dir.mkdir(parents=True, exist_ok=True)
    the_chain = Chain(state_dir)
    try:
        yield the_chain
    finally:
        for run in the_chain.runs:
            if run.proc.poll() is None:
                run.proc.kill()
            run.kill_leftovers()
        shutil.rmtree(state_dir, ignore_errors=True)


def focusctl(*args: str, stack_file: Path) -> subprocess.CompletedProcess[str]:
    """focusctl as an operator runs it, in a shell without any of the stack's variables."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FOCUS_", "FIRESTORE_", "PUBSUB_", "FIREBASE_", "GOOGLE_"))
    }
    return subprocess.run(
        [str(FOCUSCTL), "--stack-file", str(stack_file), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def write_a_user(descriptor: dict[str, Any]) -> str:
    """A user with a profile, a device and a schedule, written through callables as the app
    does; returns the uid once all three are mirrored into PostgreSQL."""
    from shared.sql.store import SqlMirrorStore

    user = sign_up(descriptor["authHost"], "ada@example.com")
    client = FunctionsClient(descriptor["functionsBaseUrl"])
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    for name, data in (
        ("bootstrapAccount", {"timezone": "Europe/Paris", "locale": "fr-FR"}),
        ("registerDevice", {"deviceId": "iphone", "platform": "ios", "fcmToken": "tok-ios"}),
        (
            "upsertSchedule",
            {
                "schedule": {
                    "id": "mornings",
                    "name": "Mornings",
                    "timezone": "Europe/Paris",
                    "days": ["mon", "tue"],
                    "start": "09:00",
                    "end": "12:00",
                    "blockedApps": ["com.example.video"],
                    "enabled": True,
                    "updatedAt": now,
                }
            },
        ),
    ):
        result = client.call(name, data, user.id_token)
        assert result.status == 200, (name, result.body)
    store = SqlMirrorStore.from_dsn(descriptor["postgresDsn"])
    try:
        # The mirror is asynchronous (Pub/Sub push); a stop before it caught up would lose it.
        wait_for(
            lambda: (
                store.reads.get_user(user.uid)
                and store.reads.list_devices(user.uid)
                and store.reads.list_schedules(user.uid)
            ),
            30,
            "the user's profile, device and schedule in PostgreSQL",
        )
    finally:
        store.engine.dispose()
    return user.uid


def kill_postgres_server(run: Run) -> None:
    """SIGKILL the postmaster of `run`'s stack (what an OOM killer or a crash would do)."""
    for pid in run.processes():
        if _cmdline(pid).startswith("postgres -D"):
            os.kill(pid, signal.SIGKILL)
            return
    raise AssertionError(f"no postgres server among {[_cmdline(p) for p in run.processes()]}")


def test_every_stop_leaves_nothing_and_the_stores_agree_after_each_restart(chain: Chain) -> None:
    # 1. Ctrl-C while the first parts start (nothing is ready yet).
    run = chain.start()
    wait_for(lambda: len(run.processes()) > 2, 60, "the first parts started")
    run.send(signal.SIGINT)
    assert run.exit_code() == 128 + signal.SIGINT, run.output
    assert "Interrupted by SIGINT during the start" in run.output
    chain.assert_nothing_left(run)

    # 1b. The terminal closes while the first parts start: SIGHUP, and no output can be written.
    run = chain.start(closed_terminal=True)
    wait_for(lambda: len(run.processes()) > 2, 60, "the first parts started")
    run.send(signal.SIGHUP)
    assert run.exit_code() == 128 + signal.SIGHUP
    chain.assert_nothing_left(run)

    # 2. SIGTERM once the Firestore emulator is ready (PostgreSQL is being set up meanwhile).
    run = chain.start()
    run.wait_for_output("firestore ready", 120)
    run.send(signal.SIGTERM)
    assert run.exit_code() == 128 + signal.SIGTERM, run.output
    chain.assert_nothing_left(run)

    # 3. A part that dies during the start is named; what had started is stopped.
    run = chain.start(plant="fcm-dies")
    assert run.exit_code(120) == 1, run.output
    assert "error: fcm exited (3)" in run.output
    chain.assert_nothing_left(run)

    # 4. Keep mode, up: write through callables, Ctrl-C (the stores are saved together).
    run = chain.start(data="keep")
    run.wait_for_output("Ctrl-C stops it.", 240)
    described = chain.descriptor_json()
    assert set(described) == DESCRIPTOR_KEYS
    assert described["functionsBaseUrl"] == (
        f"http://127.0.0.1:{chain.ports.functions}/demo-focus/europe-west1"
    )
    uid = write_a_user(described)
    run.send(signal.SIGINT)
    assert run.exit_code() == 0, run.output
    assert "data saved to" in run.output and "Stopped." in run.output
    assert not chain.descriptor.exists()
    chain.assert_nothing_left(run)

    # 5. Keep mode again: the same user in Auth, Firestore and SQL, and no drift; then SIGKILL.
    run = chain.start(data="keep")
    run.wait_for_output("Ctrl-C stops it.", 240)
    assert sign_in(chain.descriptor_json()["authHost"], "ada@example.com").uid == uid
    report = focusctl(
        "mirror", "reconcile", "--sample", "100", "--no-progress", stack_file=chain.descriptor
    )
    assert report.returncode == 0, report.stdout + report.stderr
    assert "users compared: 1" in report.stdout and "no drift" in report.stdout
    assert f"focusctl: target: the local stack ({chain.descriptor})" in report.stderr
    run.send(signal.SIGKILL)
    assert run.exit_code() == -signal.SIGKILL
    chain.assert_nothing_left(run)
    stale = focusctl("mirror", "reconcile", "--sample", "100", stack_file=chain.descriptor)
    assert stale.returncode == 2, stale.stdout + stale.stderr
    assert stale.stderr.startswith("error: the local stack of") and "Traceback" not in stale.stderr
    assert len(stale.stderr.strip().splitlines()) == 1, stale.stderr

    # 6. Fresh mode: every store starts empty, so they agree; then PostgreSQL dies under it.
    run = chain.start(data="fresh")
    run.wait_for_output("Ctrl-C stops it.", 240)
    report = focusctl(
        "mirror", "reconcile", "--sample", "100", "--no-progress", stack_file=chain.descriptor
    )
    assert report.returncode == 0, report.stdout + report.stderr
    assert "users compared: 0" in report.stdout
    kill_postgres_server(run)
    assert run.exit_code() == 1, run.output
    assert re.search(r"error: postgres (exited|was killed)", run.output), run.output
    assert "Stopped." in run.output
    chain.assert_nothing_left(run)
