"""Launcher for `gcloud-tasks-emulator`, which serves the real Cloud Tasks gRPC API locally.

The emulator pins protobuf<5, which the project's own packages cannot share, so it lives in a venv
of its own under `.local/tools/tasks-emulator` (`ensure_installed`). The stock
`google-cloud-tasks` client talks to it through
`CloudTasksGrpcTransport(channel=grpc.insecure_channel("127.0.0.1:<port>"))`.

How version 0.6.2 differs from Cloud Tasks (read in its `server.py`, checked by hand):

- A queue must exist before a task is added to it (CreateQueue, or `default_queues` here);
  otherwise CreateTask fails with FAILED_PRECONDITION (Cloud Tasks: NOT_FOUND). Queue settings
  (rate limits, retry config) are stored but ignored. State lives in memory only.
- HTTP targets are called at `http_request.url` with the task's method, body and headers, plus
  `X-CloudTasks-QueueName`, `-TaskName`, `-TaskRetryCount`, `-TaskExecutionCount` and
  `-TaskETA` (empty for a task without `schedule_time`), not before `schedule_time` (each
  queue is polled every 0.1 s). No OIDC token is sent (`oidc_token` is ignored). A body
  without a Content-Type header goes out as `application/x-www-form-urlencoded` (Cloud Tasks
  sends `application/octet-stream`).
- One dispatch at a time per queue, with no timeout: a target that hangs stalls its queue.
- An answer of 400-599 or a refused connection is retried at once, about every 0.1 s, with no
  backoff, up to `--max-retries` more times (the emulator's default is forever). `command`
  passes `max_attempts - 1` so a failing task stops like a production queue's `max_attempts`.
- Its gRPC server binds `[::]` (every interface) and has no flag for the interface; it accepts
  duplicate task names (both run; Cloud Tasks answers ALREADY_EXISTS and keeps refusing a
  deleted or executed task's name for a while); GetTask and DeleteTask are not implemented.

So this file is also the emulator's entry point: run by the emulator venv's python (`command`),
its `__main__` block starts the emulator's own CLI with three small patches that bring it closer
to Cloud Tasks, and nothing else changed: the API is bound to 127.0.0.1; a task name already used
in this emulator's lifetime is refused with ALREADY_EXISTS (tombstones are never forgotten here,
which is stricter than production's hour); and GetTask / DeleteTask work (a deleted task is
never dispatched). For that reason the module imports only the standard library at the top.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
VERSION = "0.6.2"
REQUIREMENT = f"gcloud-tasks-emulator=={VERSION}"


def venv_dir(root: Path) -> Path:
    """Where the emulator's venv lives under the repository root `root`."""
    return root / ".local" / "tools" / "tasks-emulator"


def ensure_installed(root: Path) -> Path:
    """Create the emulator's venv once and return its python; later calls return at once.

    A stamp file, written last, records what was installed with which interpreter; without it
    (a first run, or an install that was interrupted) the venv is rebuilt from scratch. A file
    lock keeps two test sessions from building it at the same time.
    """
    venv = venv_dir(root)
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    expected = f"{REQUIREMENT}\n{sys.executable} {sys.version.split()[0]}\n"

    def installed() -> bool:
        with contextlib.suppress(OSError):
            return python.exists() and stamp.read_text() == expected
        return False

    if installed():
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    with _locked(venv.parent / "tasks-emulator.lock"):
        if installed():
            return python
        from devstack.venvs import venv_commands

        shutil.rmtree(venv, ignore_errors=True)
        for argv in venv_commands(venv, REQUIREMENT):
            _run(argv, f"install {REQUIREMENT} ({' '.join(argv[:3])})")
        stamp.write_text(expected)
    return python


def command(
    emulator_python: Path,
    port: int,
    *,
    max_attempts: int | None = 8,
    default_queues: Sequence[str] = (),
    verbose: bool = False,
) -> list[str]:
    """The argv that starts the emulator in the foreground on 127.0.0.1:`port`.

    `max_attempts` bounds the dispatches of a failing task (None: retry forever, the
    emulator's default). `default_queues` are full names
    (`projects/P/locations/L/queues/Q`) created at start. Without `verbose` only errors are
    logged: at INFO the emulator logs every pending task ten times a second.
    """
    # -P: do not put devstack/ on sys.path, so nothing of ours shadows the emulator's imports.
    argv = [str(emulator_python), "-P", str(Path(__file__).resolve()), "start", "--port", str(port)]
    if max_attempts is not None:
        argv += ["--max-retries", str(max(max_attempts - 1, 0))]
    for queue in default_queues:
        argv += ["--default-queue", queue]
    if not verbose:
        argv.append("--quiet")
    return argv


def is_ready(port: int) -> bool:
    """True once the emulator's gRPC port accepts connections."""
    from devstack.process import tcp_open

    return tcp_open(port, HOST)


def _run(argv: list[str], what: str) -> None:
    from devstack.process import StackError

    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise StackError(f"could not {what}:\n{result.stdout}{result.stderr}")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- Run inside the emulator's venv ----------------------------------------------------------


def _serve_on_loopback(argv: list[str]) -> None:
    """Run the emulator's own CLI with its gRPC API bound to 127.0.0.1 instead of `[::]`.

    Only `APIThread.run` is replaced (its body is the original's, with the address changed);
    everything else is the emulator's code.
    """
    from concurrent import futures

    import grpc
    from gcloud_tasks_emulator import __main__ as cli  # type: ignore[import-not-found]
    from gcloud_tasks_emulator import server

    def run(self: Any) -> None:
        # gRPC sets SO_REUSEPORT by default, which would let a second emulator share a busy
        # port silently; without it a busy port fails here.
        self._httpd = grpc.server(
            futures.ThreadPoolExecutor(max_workers=2), options=[("grpc.so_reuseport", 0)]
        )
        server.add_CloudTasksServicer_to_server(server.Greeter(self._state), self._httpd)
        address = f"{HOST}:{self._port}"
        try:
            self._httpd.add_insecure_port(address)
        except RuntimeError as err:
            print(f"cannot listen on {address}: {err}", file=sys.stderr, flush=True)
            os._exit(1)  # this runs in a thread: end the whole process
        self._httpd.start()
        print(f"Cloud Tasks emulator listening on {address}", flush=True)

    server.APIThread.run = run
    _add_task_names_and_deletion(server)
    sys.argv = ["gcloud-tasks-emulator", *argv]
    cli.main()


def _add_task_names_and_deletion(server: Any) -> None:
    """ALREADY_EXISTS for a reused task name; GetTask and DeleteTask, as Cloud Tasks has them."""
    import threading

    from google.api_core.exceptions import AlreadyExists, GoogleAPICallError, NotFound
    from google.protobuf import empty_pb2

    state_class = server.QueueState
    original_create = state_class.create_task
    original_submit = state_class.submit_task
    lock = threading.Lock()
    used_names: set[str] = set()

    def create_task(self: Any, queue: str, task: Any) -> Any:
        with lock:
            if task.name and task.name in used_names:
                raise AlreadyExists(f"Requested entity already exists: {task.name}")  # type: ignore[no-untyped-call]
            created = original_create(self, queue, task)
            used_names.add(created.name)
            return created

    def find(self: Any, name: str) -> tuple[list[Any], int]:
        tasks = self._queue_tasks.get(name.rsplit("/", 2)[0], [])
        for index, task in enumerate(tasks):
            if task.name == name:
                return tasks, index
        raise NotFound(f"Task not found: {name}")  # type: ignore[no-untyped-call]

    def get_task(self: Any, name: str) -> Any:
        tasks, index = find(self, name)
        return tasks[index]

    def delete_task(self: Any, name: str) -> None:
        tasks, index = find(self, name)
        tasks.pop(index)

    def submit_task(self: Any, task_name: str, force_run: bool = False) -> Any:
        try:
            return original_submit(self, task_name, force_run)
        except NotFound:
            if force_run:
                raise
            return None  # deleted between the processor's snapshot and its dispatch

    state_class.create_task = create_task
    state_class.get_task = get_task
    state_class.delete_task = delete_task
    state_class.submit_task = submit_task

    def rpc(method: Any) -> Any:
        def handler(self: Any, request: Any, context: Any) -> Any:
            try:
                return method(self._state, request.name)
            except GoogleAPICallError as err:
                context.abort(err.grpc_status_code, err.message)

        return handler

    def delete_rpc(self: Any, request: Any, context: Any) -> Any:
        rpc(delete_task)(self, request, context)
        return empty_pb2.Empty()

    server.Greeter.GetTask = rpc(get_task)
    server.Greeter.DeleteTask = delete_rpc


if __name__ == "__main__":
    _serve_on_loopback(sys.argv[1:])
