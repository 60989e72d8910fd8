"""Lazily built clients and stores: built once per process, however many first requests race.

A new instance gets its first requests at the same moment (a callable serves 8 at once); with
`functools.cache` each of them ran the builder, and firebase-admin refused the second default
app (`ValueError: The default Firebase app already exists`) with an HTTP 500.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from shared.once import Once, once

ROOT = Path(__file__).resolve().parents[2]

# Every module that keeps per-instance objects built on first use.
INSTANCE_MODULES = (
    "shared.settings",
    "shared.clients",
    "shared.container",
    "shared.endpoints.callable",
    "shared.wire",
    "shared.sql.engine",
    "shared.migration.phases",
    "shared.push.auth",
)
# Production-only builders that need Google credentials to be built.
NOT_BUILT_HERE = {"shared.sql.engine:_cloud_sql_connector"}


def instance_builders() -> list[str]:
    """'module:name' of every `Once` builder of the instance, leaves (clients) first."""
    found = []
    for module_name in INSTANCE_MODULES:
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            key = f"{module_name}:{name}"
            defined_here = getattr(value, "__module__", None) == module_name
            if isinstance(value, Once) and defined_here and key not in NOT_BUILT_HERE:
                found.append(key)
    return found


# Run in a fresh interpreter: nothing imported or built yet, as in a new instance. THREADS
# threads wait at a barrier, then each calls every builder in turn, as concurrent first requests
# do (the callable wrapper asks for the Firebase app first).
RACE = r"""
import importlib, json, sys, threading

THREADS = 32
keys = json.loads(sys.argv[1])
builders = [(key, getattr(importlib.import_module(key.split(":")[0]), key.split(":")[1]))
            for key in keys]
barrier = threading.Barrier(THREADS)
objects = {key: set() for key in keys}
errors = {key: set() for key in keys}

def first_request():
    barrier.wait()
    for key, builder in builders:
        try:
            objects[key].add(id(builder()))
        except BaseException as err:
            errors[key].add(f"{type(err).__name__}: {err}")

threads = [threading.Thread(target=first_request) for _ in range(THREADS)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps({key: {"objects": len(objects[key]), "errors": sorted(errors[key])}
                  for key in keys}))
"""


def test_concurrent_first_calls_on_a_fresh_process_build_each_object_once() -> None:
    builders = instance_builders()
    builders.remove("shared.clients:firebase_app")  # the one that failed in production...
    builders.insert(0, "shared.clients:firebase_app")  # ...is what a callable builds first
    # Emulator addresses that nothing listens on: building a client does not connect.
    env = {
        **os.environ,
        "FOCUS_ENV": "local",
        "GOOGLE_CLOUD_PROJECT": "demo-once",
        "FIRESTORE_EMULATOR_HOST": "127.0.0.1:9",
        "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9",
        "PUBSUB_EMULATOR_HOST": "127.0.0.1:9",
        "FOCUS_TASKS_EMULATOR_HOST": "127.0.0.1:9",
        "FOCUS_FCM_URL": "http://127.0.0.1:9",
        "FOCUS_POSTGRES_DSN": "postgresql://nobody@127.0.0.1:9/none",
        "PYTHONPATH": str(ROOT),
    }
    out = subprocess.run(
        [sys.executable, "-c", RACE, json.dumps(builders)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    results = json.loads(out.stdout.strip().splitlines()[-1])
    broken = {key: r for key, r in results.items() if r["objects"] != 1 or r["errors"]}
    assert not broken, f"built more than once or failed under 32 concurrent first calls: {broken}"
    assert set(results) == set(builders)


def test_a_failed_build_is_retried_and_clear_forgets() -> None:
    calls = []

    @once
    def flaky() -> object:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("not yet")
        return object()

    with pytest.raises(ConnectionError):
        flaky()
    first = flaky()
    assert flaky() is first and flaky.built
    flaky.cache_clear()
    assert not flaky.built and flaky() is not first
    assert len(calls) == 3


def test_waiting_callers_get_the_object_the_first_one_built() -> None:
    release = threading.Event()
    built = []

    @once
    def slow() -> object:
        built.append(1)
        release.wait(timeout=30)  # held until every other caller is queued behind the lock
        return object()

    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(slow())) for _ in range(16)]
    for thread in threads:
        thread.start()
    release.set()
    for thread in threads:
        thread.join()
    assert len(built) == 1 and len(got) == 16 and len({id(o) for o in got}) == 1


def test_no_lazy_builder_bypasses_once() -> None:
    """`functools.cache` / `lru_cache` on a builder, or a `global` assigned on first use, is
    the pattern that raced; instance code declares lazily built objects with `@once`."""
    pattern = re.compile(r"functools\.cache\b|lru_cache|^from functools import .*\bcache\b", re.M)
    offenders = []
    for folder in ("shared", "functions", "devstack"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == ROOT / "shared" / "once.py":
                continue  # names what it replaces
            if pattern.search(path.read_text()):
                offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"use shared.once.once instead of functools caches in {offenders}"
