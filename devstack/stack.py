"""The whole local stack: start, wire, describe, watch and stop every part.

`make dev` runs `python -m devstack up` (fixed ports from firebase.json and the defaults below,
state under `.local/`, descriptor at `.local/stack.json`; its options are read in one place,
`dev_config()`); tests build a `Stack` on free ports in a directory of their own, so a running
`make dev` never clashes with `make test`.

Every part runs under a supervisor tied to this process (devstack/process.py), so whatever
happens to it (Ctrl-C or SIGTERM at any moment of the start, a start that fails half-way,
SIGKILL) nothing of the stack is left running. While the stack is up, every part, PostgreSQL
included, is watched: the first one that dies is named and the whole stack stops.

Over 400 lines: the start order, the watch and the stop of every part are one lifecycle.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, get_args

from devstack import emulators, saved
from devstack.process import (
    ManagedProcess,
    StackError,
    free_port,
    http_ok,
    port_is_free,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PROJECT = "demo-focus"
DEFAULT_REGION = "europe-west1"
# Ports of the parts firebase.json has no key for (local defaults, overridable by env).
DEFAULT_EXTRA_PORTS = {
    "postgres": 54329,
    "fcm": 9299,
    "tasks": 9399,
    "redis": 6389,
    "background": 5011,
}
TASK_SECRET_HEADER = "X-Focus-Task-Secret"  # noqa: S105 - a header name, not a secret

# What a start does with the data of the previous run (`FOCUS_DEV_DATA`, see dev_config):
# "fresh": every store starts empty (the Emulator Suite's default); "keep": every store starts
# with what it held at the last stop of a keep-mode run (devstack/saved.py).
DataMode = Literal["fresh", "keep"]


@dataclasses.dataclass(frozen=True)
class Ports:
    firestore: int
    auth: int
    pubsub: int
    functions: int
    postgres: int
    fcm: int
    tasks: int
    redis: int
    background: int  # the functions' second process: Pub/Sub pushes and Cloud Tasks

    @classmethod
    def free(cls) -> Ports:
        ports: dict[str, int] = {}
        for field in dataclasses.fields(cls):
            ports[field.name] = free_port(avoid=ports.values())
        return cls(**ports)

    @classmethod
    def from_firebase_json(cls, root: Path = ROOT) -> Ports:
        """firebase.json's emulator ports, the defaults above for the rest; env overrides."""
        config = json.loads((root / "firebase.json").read_text())["emulators"]
        ports = {name: int(config[name]["port"]) for name in ("firestore", "auth", "pubsub")}
        ports["functions"] = int(config["functions"]["port"])
        ports.update(DEFAULT_EXTRA_PORTS)
        for name in list(ports):
            override = os.environ.get(f"FOCUS_DEV_{name.upper()}_PORT")
            if override:
                ports[name] = int(override)
        return cls(**ports)


@dataclasses.dataclass
class StackConfig:
    state_dir: Path
    ports: Ports
    project_id: str = DEFAULT_PROJECT
    region: str = DEFAULT_REGION
    root: Path = ROOT
    descriptor_path: Path | None = None
    wipe_postgres: bool = False
    # FOCUS_PHASE_CACHE_S of the functions: migration phases set with focusctl take effect
    # within this many seconds (30 deployed). Tests use 0: every call reads the phases.
    phase_cache_s: float = 2.0
    data: DataMode = "fresh"
    # FOCUS_TRACE_SAMPLE_RATIO of the functions: locally every trace is kept, so that
    # `focusctl trace show` finds any request's (deployed: 1%, shared/settings.py).
    trace_sample_ratio: float = 1.0
    # Emulators started for less CPU, with the same behaviour: the Auth emulator compiles each
    # operation's validators on first use (about 15 of its 20 CPU-seconds of start; see
    # devstack/auth_lazy_validators.js). The benchmarks' stacks keep the emulators' defaults
    # (benchmarks/stack.py), so their figures compare with earlier runs.
    lean_emulators: bool = True
    # JAVA_TOOL_OPTIONS of the Firestore and Pub/Sub emulators (the test session's stack:
    # emulators.SHORT_LIVED_JVM_OPTIONS); none by default.
    jvm_options: tuple[str, ...] = ()


class Stack:
    """Start with `start()`, stop with `stop()` (also on any start failure)."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.ports = config.ports
        self.task_secret = secrets.token_urlsafe(24)
        self.log_dir = config.state_dir / "logs"
        self.saved_dir = config.state_dir / "saved"
        self._procs: list[ManagedProcess] = []
        self._postgres: Any = None
        self._postgres_thread: threading.Thread | None = None
        self._auth_hub_port = 0
        self._say: Callable[[str], None] = lambda _msg: None
        self._up = False  # every part started and wired: what a keep-mode save needs
        self._wrote_descriptor = False

    # -- addresses --------------------------------------------------------------------------
    @property
    def functions_base_url(self) -> str:
        """Where the apps call the functions (the callables' process)."""
        c = self.config
        return f"http://127.0.0.1:{self.ports.functions}/{c.project_id}/{c.region}"

    @property
    def background_base_url(self) -> str:
        """Where Pub/Sub push subscriptions and Cloud Tasks deliver (the background process)."""
        c = self.config
        return f"http://127.0.0.1:{self.ports.background}/{c.project_id}/{c.region}"

    def push_endpoint(self, function: str) -> str:
        """Where a push subscription delivers to `function`. The emulator sends no OIDC token
        and no custom header, so the stack's secret stands in for the token in the query
        (shared/push/auth.py, `authenticate_push`)."""
        from shared.push.auth import PUSH_SECRET_PARAM

        return f"{self.background_base_url}/{function}?{PUSH_SECRET_PARAM}={self.task_secret}"

    @property
    def fcm_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.fcm}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.ports.redis}/0"

    @property
    def trace_file(self) -> Path:
        """Where the functions' spans go, every trace recorded (`focusctl trace show`)."""
        return self.config.state_dir / "traces" / "spans.jsonl"

    @property
    def postgres_dsn(self) -> str:
        return str(self._postgres.dsn) if self._postgres is not None else ""

    def env(self) -> dict[str, str]:
        """Environment for a process that talks to this stack (the functions, tests, focusctl)."""
        c = self.config
        return {
            "FOCUS_ENV": "local",
            "FOCUS_PROJECT_ID": c.project_id,
            "GOOGLE_CLOUD_PROJECT": c.project_id,
            "FOCUS_REGION": c.region,
            "FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{self.ports.firestore}",
            "FIREBASE_AUTH_EMULATOR_HOST": f"127.0.0.1:{self.ports.auth}",
            "PUBSUB_EMULATOR_HOST": f"127.0.0.1:{self.ports.pubsub}",
            "FOCUS_FCM_URL": self.fcm_url,
            "FOCUS_TASKS_EMULATOR_HOST": f"127.0.0.1:{self.ports.tasks}",
            # Where the functions' Cloud Tasks deliver (shared/push/tasks.py).
            "FOCUS_FUNCTIONS_BASE_URL": self.background_base_url,
            "FOCUS_TASK_SHARED_SECRET": self.task_secret,
            "FOCUS_POSTGRES_DSN": self.postgres_dsn,
            "FOCUS_REDIS_URL": self.redis_url,
            "FOCUS_PHASE_CACHE_S": f"{c.phase_cache_s:g}",
            "FOCUS_TRACE_FILE": str(self.trace_file),
            "FOCUS_TRACE_SAMPLE_RATIO": f"{c.trace_sample_ratio:g}",
        }

    def descriptor(self) -> dict[str, str]:
        """`.local/stack.json` as API.md describes it."""
        return {
            "projectId": self.config.project_id,
            "region": self.config.region,
            "functionsBaseUrl": self.functions_base_url,
            "firestoreHost": f"127.0.0.1:{self.ports.firestore}",
            "authHost": f"127.0.0.1:{self.ports.auth}",
            "pubsubHost": f"127.0.0.1:{self.ports.pubsub}",
            "postgresDsn": self.postgres_dsn,
            "fcmUrl": self.fcm_url,
            "redisUrl": self.redis_url,
        }

    # -- lifecycle --------------------------------------------------------------------------
    def start(self, on_progress: Callable[[str], None] = lambda _msg: None) -> None:
        """Start every part; on any failure or interruption stop what had started, re-raise."""
        self._say = on_progress
        try:
            self._start(on_progress)
        except BaseException:
            self.stop()
            raise

    def _check_ports(self) -> None:
        taken = [
            f"{name} ({port})"
            for name, port in dataclasses.asdict(self.ports).items()
            if not port_is_free(port)
        ]
        if taken:
            raise StackError(
                "port(s) already in use: "
                + ", ".join(taken)
                + ". Stop what holds them (another `make dev`?) or override with "
                "FOCUS_DEV_<PART>_PORT."
            )

    def _start(self, on_progress: Callable[[str], None]) -> None:
        from devstack import tasks_emulator
        from devstack.postgres import PostgresCluster

        c = self.config
        self._check_ports()
        c.state_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        restore = saved.load(self.saved_dir) if c.data == "keep" else None
        if c.data == "keep":
            on_progress(
                f"keep mode: restoring the data saved at the last stop ({self.saved_dir})"
                if restore is not None
                else "keep mode: nothing saved yet, starting empty"
            )

        tasks_python = tasks_emulator.ensure_installed(c.root)
        waits: list[tuple[ManagedProcess, Callable[[], bool], float]] = []

        def launch(proc: ManagedProcess, ready: Callable[[], bool], timeout: float) -> None:
            proc.start()
            self._procs.append(proc)
            waits.append((proc, ready, timeout))

        launch(
            *emulators.firestore_process(
                self.ports.firestore,
                c.root / "firestore.rules",
                c.project_id,
                self.log_dir,
                import_from=restore.firestore_metadata if restore else None,
                jvm_options=c.jvm_options,
            ),
            60,
        )
        launch(*emulators.pubsub_process(self.ports.pubsub, self.log_dir, c.jvm_options), 60)
        own_ports = list(dataclasses.asdict(self.ports).values())
        self._auth_hub_port = free_port(avoid=own_ports)
        launch(
            *emulators.auth_process(
                c.root,
                self.ports.auth,
                c.project_id,
                c.state_dir / "auth",
                self.log_dir,
                hub_port=self._auth_hub_port,
                avoid_ports=[*own_ports, self._auth_hub_port],
                import_from=restore.auth_dir if restore else None,
                lazy_validators=c.lean_emulators,
            ),
            180,  # firebase-tools boots slowly on a busy machine
        )
        for proc, ready in self._local_standins(tasks_python):
            launch(proc, ready, 30)

        pg_errors = self._start_postgres_in_background(PostgresCluster, restore)
        for proc, ready, timeout in waits:

            def check(ready: Callable[[], bool] = ready) -> bool:
                self.check_alive()  # any part that dies meanwhile is named at once
                return ready()

            wait_until(check, timeout=timeout, what=proc.name)
            on_progress(f"{proc.name} ready")
        thread = self._postgres_thread
        assert thread is not None
        while thread.is_alive():  # short joins: signals and dead parts are seen meanwhile
            thread.join(0.2)
            self.check_alive()
        if pg_errors:
            raise StackError(f"postgres: {pg_errors[0]}") from pg_errors[0]
        on_progress("postgres ready (migrated to head)")

        os.environ.update(self.env())  # the wiring below uses the same clients as the code
        if restore is not None:
            self._rebase_mirror()
        from devstack.wiring import wire_pubsub, wire_tasks

        wire_tasks(c.project_id, c.region)
        self._start_functions()
        wire_pubsub(c.project_id, self.push_endpoint)
        on_progress("functions ready")
        if c.descriptor_path is not None:
            c.descriptor_path.parent.mkdir(parents=True, exist_ok=True)
            c.descriptor_path.write_text(json.dumps(self.descriptor(), indent=2) + "\n")
            self._wrote_descriptor = True
        self._up = True

    def _local_standins(
        self, tasks_python: Path
    ) -> list[tuple[ManagedProcess, Callable[[], bool]]]:
        """The parts that stand in for services with no emulator: FCM, Cloud Tasks, Redis."""
        from devstack import fcm_standin, tasks_emulator

        fcm = ManagedProcess(
            "fcm", fcm_standin.command(sys.executable, self.ports.fcm), log_dir=self.log_dir
        )
        tasks = ManagedProcess(
            "tasks", tasks_emulator.command(tasks_python, self.ports.tasks), log_dir=self.log_dir
        )
        return [
            (fcm, lambda: http_ok(f"{self.fcm_url}/healthz")),
            (tasks, lambda: _tcp(self.ports.tasks)),
            emulators.redis_process(self.ports.redis, self.log_dir),
        ]

    def _start_postgres_in_background(
        self, cluster_class: Any, restore: saved.Save | None
    ) -> list[BaseException]:
        """PostgreSQL (initdb, the data of this mode, migrations) starts while the emulators
        boot. Returns the list its thread puts an error in."""
        c = self.config
        self._postgres = cluster_class(c.state_dir / "postgres", self.ports.postgres, self.log_dir)
        errors: list[BaseException] = []

        def start() -> None:
            try:
                cluster = self._postgres
                cluster.start(wipe=c.wipe_postgres)
                if restore is not None:
                    cluster.databases.restore(restore.postgres_dump)
                elif not cluster.created:
                    cluster.databases.reset_app()  # fresh: this run starts empty too
                from shared.sql.schema import upgrade_to_head

                upgrade_to_head(cluster.dsn)
            except BaseException as err:  # surfaced by the caller, in the main thread
                errors.append(err)

        self._postgres_thread = threading.Thread(target=start, name="postgres-start")
        self._postgres_thread.start()
        return errors

    def _rebase_mirror(self) -> None:
        """After the Firestore import: the mirror's rows follow their documents' new versions."""
        from devstack.wiring import fresh_clients
        from shared.clients import firestore_client
        from shared.sql.store import SqlMirrorStore

        fresh_clients()
        store = SqlMirrorStore.from_dsn(self.postgres_dsn)
        try:
            moved = saved.rebase_mirror_versions(firestore_client(), store)
        finally:
            store.engine.dispose()
        self._say(f"mirror rows moved to the imported documents' versions: {moved}")

    def _start_functions(self) -> None:
        """Two processes serve every function, as two kinds of Cloud Run services do in
        production: `functions` takes the apps' calls, `background` what Pub/Sub pushes and
        Cloud Tasks deliver (the mirror consumer, deliverPush, ...). In one process the
        background work shared the callables' interpreter lock, which no deployed callable
        does (each function is a service of its own), and slowed the calls measured here."""
        c = self.config
        functions_env = {**os.environ, **self.env(), "PYTHONPATH": str(c.root)}
        servers = {"functions": self.ports.functions, "background": self.ports.background}
        for name, port in servers.items():
            server = ManagedProcess(
                name,
                [
                    sys.executable,
                    "-m",
                    "devstack.functions_server",
                    f"--port={port}",
                    f"--project={c.project_id}",
                    f"--region={c.region}",
                ],
                log_dir=self.log_dir,
                env=functions_env,
                cwd=c.root,
            )
            server.start()
            self._procs.append(server)

        def functions_ready() -> bool:
            self.check_alive()
            return all(http_ok(f"http://127.0.0.1:{port}/healthz") for port in servers.values())

        wait_until(functions_ready, timeout=60, what="functions")

    def process(self, name: str) -> ManagedProcess:
        """A running part of the stack by name (`pubsub`, `firestore`, `functions`, ...)."""
        for proc in self._procs:
            if proc.name == name:
                return proc
        raise KeyError(name)

    def part_pids(self) -> dict[str, int]:
        """The process id of each running part (PostgreSQL's postmaster as `postgres`), for
        meters that read what each part spends (benchmarks)."""
        pids = {proc.name: proc.pid for proc in self._procs if proc.pid is not None}
        if self._postgres is not None:
            pidfile = self._postgres.pgdata / "postmaster.pid"
            if pidfile.exists():
                pids["postgres"] = int(pidfile.read_text().split()[0])
        return pids

    def check_alive(self) -> None:
        """Raise StackError naming the first part that is no longer running."""
        for proc in self._procs:
            proc.ensure_running()
        if self._postgres is not None:
            self._postgres.ensure_running()

    def stop(self) -> None:
        """Stop every part that was started (safe to call at any moment, and twice)."""
        if self._up and self.config.data == "keep":
            self._save()
        self._up = False
        for proc in reversed(self._procs):
            proc.stop()
        self._procs.clear()
        if self._postgres is not None:
            # A start still running in its thread gives up first, or it could start the
            # server after the stop below.
            self._postgres.cancel()
            if self._postgres_thread is not None:
                self._postgres_thread.join(timeout=120)
            self._postgres.stop()
        if self._wrote_descriptor and self.config.descriptor_path is not None:
            # Only our own: a second `make dev` refused for busy ports leaves the first's.
            self.config.descriptor_path.unlink(missing_ok=True)
            self._wrote_descriptor = False

    def _save(self) -> None:
        try:
            self.check_alive()
            saved.save(
                self.saved_dir,
                project_id=self.config.project_id,
                firestore_port=self.ports.firestore,
                auth_hub_port=self._auth_hub_port,
                postgres=self._postgres,
            )
        except Exception as err:  # a save that fails must never keep the parts from stopping
            self._say(f"data NOT saved ({err}); the next start restores the previous save")
            return
        self._say(f"data saved to {self.saved_dir} (FOCUS_DEV_DATA=keep)")


def _tcp(port: int) -> bool:
    from devstack.process import tcp_open

    return tcp_open(port)


def dev_config(environ: dict[str, str] | None = None) -> StackConfig:
    """`make dev`'s configuration. Every option of the local stack is read here, from
    environment variables (`make dev` passes them on; README "The local stack"):

    - `FOCUS_DEV_<PART>_PORT` (FIRESTORE, AUTH, PUBSUB, FUNCTIONS, POSTGRES, FCM, TASKS, REDIS):
      move a part to another port (defaults: firebase.json, then DEFAULT_EXTRA_PORTS).
    - `FOCUS_DEV_DATA`: `fresh` (default): Firestore, Auth and PostgreSQL all start empty;
      `keep`: all three start with what they held when the last keep-mode run stopped
      (devstack/saved.py says what is kept and what is not).
    """
    env = os.environ if environ is None else environ
    data = env.get("FOCUS_DEV_DATA", "").strip().lower() or "fresh"
    if data not in get_args(DataMode):
        raise StackError(f"FOCUS_DEV_DATA={data!r}: use 'fresh' (the default) or 'keep'")
    return StackConfig(
        state_dir=ROOT / ".local" / "dev",
        ports=Ports.from_firebase_json(),
        descriptor_path=ROOT / ".local" / "stack.json",
        data=data,  # type: ignore[arg-type]  # checked against DataMode above
    )


class _Interrupted(BaseException):
    """Ctrl-C, SIGTERM or SIGHUP during the start: unwinds it (start() then stops the parts).

    A BaseException, like KeyboardInterrupt, so that no `except Exception` on the way
    swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def run_foreground(config: StackConfig) -> int:
    """Start the stack, print where things are, watch it until Ctrl-C, stop everything.

    Exit status: 0 after Ctrl-C / SIGTERM once up, 1 when a part fails or dies, 128 + the
    signal's number when a signal interrupts the start."""
    stack = Stack(config)
    stopping = threading.Event()
    starting = True

    def on_signal(signum: int, _frame: object) -> None:
        first = not stopping.is_set()
        stopping.set()
        # Only the first signal unwinds the start: a second one must not cut the stop short.
        if first and starting:
            raise _Interrupted(signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    started = time.monotonic()
    try:
        stack.start(on_progress=lambda msg: _say(f"  {msg}"))
    except _Interrupted as err:
        stack.stop()  # a no-op unless the signal came as start() returned
        _say(f"Interrupted by {err} during the start; stopped what had started.")
        return 128 + err.signum
    except StackError as err:
        _say(f"error: {err}")
        _say("Stopped what had started.")
        return 1
    finally:
        starting = False
    _say(f"Local stack up in {time.monotonic() - started:.1f} s. Ctrl-C stops it.")
    _say(json.dumps(stack.descriptor(), indent=2))
    _say(f"Logs: {stack.log_dir}")
    code = 0
    try:
        while not stopping.wait(1.0):
            stack.check_alive()
    except StackError as err:
        _say(f"error: {err}")
        _say("A part of the stack died; stopping the others.")
        code = 1
    finally:
        _say("Stopping...")
        stack.stop()
        _say("Stopped.")
    return code


def _say(message: str) -> None:
    # A closed terminal (SIGHUP) makes writes fail; the stop that follows must still happen.
    with contextlib.suppress(OSError):
        sys.stdout.write(message + "\n")
        sys.stdout.flush()
