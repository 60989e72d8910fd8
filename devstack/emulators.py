"""Google's emulators for the local stack: Firestore and Pub/Sub (gcloud), Auth (firebase-tools).

Each `*_process` returns a `ManagedProcess` plus the readiness check the stack waits on. The
Firestore and Pub/Sub emulators are started through the scripts the Cloud SDK ships (faster than
the `gcloud emulators` wrappers, and with no wrapper process to orphan the java child).
firebase-tools' own Firestore and Pub/Sub emulators would download jars and need a newer Java,
so from firebase-tools only the Auth emulator is used.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

from devstack.process import ManagedProcess, StackError, free_port, http_ok, tcp_open
from shared.once import once

LAZY_VALIDATORS_JS = Path(__file__).resolve().with_name("auth_lazy_validators.js")
# JVM options for the Firestore and Pub/Sub emulators of a stack that lives minutes (the test
# session's): the client compiler only and one GC thread. On 2 cores the optimising compiler's
# threads cost more than they pay back in that time: the Firestore emulator spent 7 CPU-s
# instead of 13 on tests/integration/test_phase_sync.py and 10 instead of about 20 on the fuzz
# file, the JVMs 5 instead of 7.5 at a start (docs/BENCHMARKS.md, "make test's time"). `make dev`,
# which runs for hours, and the benchmarks keep the JVM's defaults.
SHORT_LIVED_JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")


def _java_env(jvm_options: Sequence[str]) -> dict[str, str] | None:
    """The environment with `jvm_options` in JAVA_TOOL_OPTIONS (before any the user set, which
    therefore win), or None (the inherited one) when there are none."""
    if not jvm_options:
        return None
    env = dict(os.environ)
    env["JAVA_TOOL_OPTIONS"] = " ".join([*jvm_options, env.get("JAVA_TOOL_OPTIONS", "")]).strip()
    return env


@once
def sdk_root() -> Path:
    """The Cloud SDK installation holding the emulators."""
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        raise StackError("gcloud (Google Cloud SDK) is not on PATH; see README 'Requirements'")
    candidate = Path(os.path.realpath(gcloud)).parent.parent
    if (candidate / "platform").is_dir():
        return candidate
    out = subprocess.run(
        [gcloud, "info", "--format=value(installation.sdk_root)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


def firestore_process(
    port: int,
    rules: Path,
    project_id: str,
    log_dir: Path,
    import_from: Path | None = None,
    jvm_options: Sequence[str] = (),
) -> tuple[ManagedProcess, Callable[[], bool]]:
    """`import_from`: an export's `.overall_export_metadata` file to start with (keep mode);
    `jvm_options`: e.g. SHORT_LIVED_JVM_OPTIONS."""
    script = sdk_root() / "platform" / "cloud-firestore-emulator" / "cloud_firestore_emulator"
    if not script.exists():
        raise StackError(
            f"Firestore emulator not installed ({script}); install the Cloud SDK component "
            "'cloud-firestore-emulator'"
        )
    argv = [
        str(script),
        "start",
        "--host=127.0.0.1",
        f"--port={port}",
        f"--rules={rules}",
        f"--project_id={project_id}",
    ]
    if import_from is not None:
        # The emulator's --export-on-exit writes nothing in this version; exports are made
        # through its REST API instead (devstack/saved.py).
        argv.append(f"--import-data={import_from}")
    proc = ManagedProcess("firestore", argv, log_dir=log_dir, env=_java_env(jvm_options))
    return proc, lambda: http_ok(f"http://127.0.0.1:{port}/")


def pubsub_process(
    port: int, log_dir: Path, jvm_options: Sequence[str] = ()
) -> tuple[ManagedProcess, Callable[[], bool]]:
    script = sdk_root() / "platform" / "pubsub-emulator" / "bin" / "cloud-pubsub-emulator"
    if not script.exists():
        raise StackError(
            f"Pub/Sub emulator not installed ({script}); install the Cloud SDK component "
            "'pubsub-emulator'"
        )
    argv = [str(script), "--host=127.0.0.1", f"--port={port}"]
    proc = ManagedProcess("pubsub", argv, log_dir=log_dir, env=_java_env(jvm_options))
    return proc, lambda: tcp_open(port) and http_ok(f"http://127.0.0.1:{port}/")


def redis_process(port: int, log_dir: Path) -> tuple[ManagedProcess, Callable[[], bool]]:
    """Redis for the shared rate limits (Memorystore in production). Nothing it holds outlives
    a run: rate-limit windows are minutes to an hour long, so no snapshot, no append-only file."""
    if shutil.which("redis-server") is None:
        raise StackError("redis-server is not on PATH; run `make install` (it installs Redis)")
    argv = [
        "redis-server",
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--save",
        "",
        "--appendonly",
        "no",
        "--protected-mode",
        "yes",
    ]
    proc = ManagedProcess("redis", argv, log_dir=log_dir)
    return proc, lambda: tcp_open(port)


def auth_process(
    root: Path,
    port: int,
    project_id: str,
    work_dir: Path,
    log_dir: Path,
    *,
    hub_port: int | None = None,
    avoid_ports: Collection[int] = (),
    import_from: Path | None = None,
    lazy_validators: bool = False,
) -> tuple[ManagedProcess, Callable[[], bool]]:
    """The Firebase Auth emulator, configured by a generated firebase.json on `port`.

    `hub_port`: where firebase-tools' emulator hub listens (its `/_admin/export` saves the
    accounts); `avoid_ports`: the stack's other ports, never chosen for the hub or logging;
    `import_from`: a directory such an export wrote, to start with (keep mode);
    `lazy_validators`: each operation's request and response validators compiled on its first
    call rather than all of them at start (devstack/auth_lazy_validators.js).
    """
    firebase = root / "node_modules" / ".bin" / "firebase"
    if not firebase.exists():
        raise StackError("firebase-tools is not installed; run `make install` (npm ci)")
    if shutil.which("node") is None:
        raise StackError("node is not on PATH; the Auth emulator needs Node.js 20+")
    work_dir.mkdir(parents=True, exist_ok=True)
    config = {
        "emulators": {
            "singleProjectMode": True,
            "auth": {"host": "127.0.0.1", "port": port},
            "ui": {"enabled": False},
            "hub": {"host": "127.0.0.1", "port": hub_port or free_port(avoid_ports)},
            "logging": {"host": "127.0.0.1", "port": free_port([*avoid_ports, port])},
        }
    }
    config_path = work_dir / "firebase.auth.json"
    config_path.write_text(json.dumps(config))
    env = dict(os.environ)
    # Offline machines: never let firebase-tools phone home or ask questions.
    env.update(
        {"CI": "true", "FIREBASE_CLI_DISABLE_UPDATE_CHECK": "true", "NO_UPDATE_NOTIFIER": "1"}
    )
    env["HOME"] = str(work_dir)  # keeps its config store out of the user's home
    # Through `node` itself when a preload is given (the bin script's shebang takes no flags).
    preload = ["node", "--require", str(LAZY_VALIDATORS_JS)] if lazy_validators else []
    argv = [
        *preload,
        str(firebase),
        "emulators:start",
        "--only",
        "auth",
        "--project",
        project_id,
        "--config",
        str(config_path),
    ]
    if import_from is not None:
        argv += ["--import", str(import_from)]
    debug_log = work_dir / "firebase-debug.log"  # firebase-tools writes it in its cwd
    proc = ManagedProcess("auth", argv, log_dir=log_dir, env=env, cwd=work_dir, own_log=debug_log)
    return proc, lambda: http_ok(f"http://127.0.0.1:{port}/")
