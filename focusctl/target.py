"""Which backend `focusctl` works on, chosen before any client is built, and said on stderr.

In this order:

1. `--project P`: a real project, with Application Default Credentials. The only way to reach
   one: a `GOOGLE_CLOUD_PROJECT` left in a shell never sends focusctl to production.
   Refused while emulator variables are set (the clients would mix the two).
2. `--local` or `--stack-file F`: the local stack that descriptor describes.
3. Emulator variables in the environment (`FIRESTORE_EMULATOR_HOST`, ...): those emulators,
   with the `FOCUS_*` variables as they are (what the tests and scripts set).
4. Otherwise the running `make dev` of this checkout, from its `.local/stack.json`.

A local target is checked before use: every host of the descriptor (or variable) must accept
a TCP connection, so a stopped `make dev`, a stale descriptor or a wrong port gives one clear
line instead of a client retrying for a minute. A real project is checked for credentials.
Every refusal is a `TargetError` with a one-line message; `focusctl.cli.main` prints it.
"""

from __future__ import annotations

import dataclasses
import json
import socket
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from urllib.parse import urlsplit

EMULATOR_VARS = ("FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST")
# Settings that would send SQL traffic to Cloud SQL instead of the local stack's PostgreSQL.
_CLOUD_SQL_VARS = ("FOCUS_SQL_INSTANCE", "FOCUS_SQL_IAM_USER")
_DESCRIPTOR_KEYS = ("projectId", "firestoreHost", "pubsubHost", "authHost", "postgresDsn")


class TargetError(RuntimeError):
    """No usable target; the message is one line that says what to do."""


@dataclasses.dataclass(frozen=True)
class Target:
    """A chosen target: the variables that point the clients at it, and how to name it."""

    description: str
    environ: dict[str, str]
    unset: tuple[str, ...] = ()

    def apply(self, environ: MutableMapping[str, str]) -> None:
        for name in self.unset:
            environ.pop(name, None)
        environ.update(self.environ)


def choose(
    *,
    project: str | None,
    local: bool,
    stack_file: Path | None,
    environ: Mapping[str, str],
    default_stack_file: Path,
) -> Target:
    """The target the options and the environment name (see the module docstring)."""
    if project is not None:
        if local or stack_file is not None:
            raise TargetError("--project names a real project; leave out --local/--stack-file")
        return _project(project, environ)
    if local or stack_file is not None:
        return _stack(stack_file or default_stack_file)
    if any(environ.get(name) for name in EMULATOR_VARS):
        return _emulators_from_environment(environ)
    if default_stack_file.exists():
        return _stack(default_stack_file)
    raise TargetError(
        f"no target: the local stack is not running (no {default_stack_file}; start it with "
        "`make dev`), and no real project was chosen (--project PROJECT)"
    )


def _project(project: str, environ: Mapping[str, str]) -> Target:
    emulated = [name for name in EMULATOR_VARS if environ.get(name)]
    if emulated:
        raise TargetError(
            f"--project {project} is a real project, but emulator variables are set "
            f"({', '.join(emulated)}); unset them first"
        )
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        credentials, _ = google.auth.default()
    except DefaultCredentialsError as err:
        raise TargetError(
            f"no credentials for project {project}: run `gcloud auth application-default "
            f"login` or set GOOGLE_APPLICATION_CREDENTIALS ({_first_line(err)})"
        ) from err
    who = getattr(credentials, "service_account_email", None) or type(credentials).__name__
    sql = environ.get("FOCUS_SQL_INSTANCE") or (
        "FOCUS_POSTGRES_DSN" if environ.get("FOCUS_POSTGRES_DSN") else "not configured"
    )
    return Target(
        f"project {project} (Application Default Credentials: {who}; SQL: {sql})",
        {"GOOGLE_CLOUD_PROJECT": project, "FOCUS_PROJECT_ID": project},
    )


def _stack(path: Path) -> Target:
    if not path.exists():
        raise TargetError(f"no stack descriptor at {path}; is `make dev` running?")
    try:
        descriptor = json.loads(path.read_text())
        values = {key: str(descriptor[key]) for key in _DESCRIPTOR_KEYS}
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise TargetError(f"{path} is not a stack descriptor ({_first_line(err)})") from err
    _check_reachable(
        {
            "Firestore": values["firestoreHost"],
            "Pub/Sub": values["pubsubHost"],
            "Auth": values["authHost"],
            "PostgreSQL": _dsn_address(values["postgresDsn"]),
        },
        f"the local stack of {path} does not answer",
        "is `make dev` still running?",
    )
    return Target(
        f"the local stack ({path}): project {values['projectId']}, "
        f"Firestore {values['firestoreHost']}, PostgreSQL {_dsn_address(values['postgresDsn'])}",
        {
            "FOCUS_ENV": "local",
            "FOCUS_PROJECT_ID": values["projectId"],
            "GOOGLE_CLOUD_PROJECT": values["projectId"],
            "FIRESTORE_EMULATOR_HOST": values["firestoreHost"],
            "PUBSUB_EMULATOR_HOST": values["pubsubHost"],
            "FIREBASE_AUTH_EMULATOR_HOST": values["authHost"],
            "FOCUS_POSTGRES_DSN": values["postgresDsn"],
        },
        unset=_CLOUD_SQL_VARS,
    )


def _emulators_from_environment(environ: Mapping[str, str]) -> Target:
    hosts = {name: environ[name] for name in EMULATOR_VARS if environ.get(name)}
    dsn = environ.get("FOCUS_POSTGRES_DSN")
    checked = dict(hosts)
    if dsn and not environ.get("FOCUS_SQL_INSTANCE"):
        checked["FOCUS_POSTGRES_DSN"] = _dsn_address(dsn)
    _check_reachable(checked, "the emulators in the environment do not answer", "are they up?")
    project = (  # as shared/settings.py reads it
        environ.get("FOCUS_PROJECT_ID")
        or environ.get("GOOGLE_CLOUD_PROJECT")
        or environ.get("GCLOUD_PROJECT")
        or "demo-focus"
    )
    shown = ", ".join(f"{name}={value}" for name, value in checked.items())
    return Target(f"emulators from the environment: project {project}, {shown}", {})


def _dsn_address(dsn: str) -> str:
    parts = urlsplit(dsn)
    return f"{parts.hostname or '127.0.0.1'}:{parts.port or 5432}"


def _check_reachable(addresses: Mapping[str, str], problem: str, hint: str) -> None:
    for name, address in addresses.items():
        host, _, port = address.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), 2):
                pass
        except (OSError, ValueError) as err:
            raise TargetError(
                f"{problem} ({name} at {address}: {_first_line(err)}); {hint}"
            ) from err


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
