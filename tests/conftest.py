"""Fixtures shared by every test level.

Unit tests need nothing. Integration and end-to-end tests ask for `stack`: one local stack per
test session (emulators, PostgreSQL, FCM stand-in, Tasks emulator, functions) on free ports and
in a directory of its own, so a running `make dev` is never disturbed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

from devstack.emulators import SHORT_LIVED_JVM_OPTIONS
from devstack.stack import ROOT, Ports, Stack, StackConfig
from tests.support.callables import FunctionsClient

if TYPE_CHECKING:
    from shared.sql.store import SqlMirrorStore

pytest_plugins = ["tests.fixtures.postgres"]


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    state_dir = ROOT / ".local" / f"test-run-{os.getpid()}"
    shutil.rmtree(state_dir, ignore_errors=True)
    # No phase cache: a phase set with focusctl applies from the functions' next call on, so
    # no test has to guess when every instance follows it (the cache has unit tests). The
    # session lives minutes: its JVMs run without the optimising compiler (less CPU on 2 cores).
    config = StackConfig(
        state_dir=state_dir,
        ports=Ports.free(),
        wipe_postgres=True,
        phase_cache_s=0,
        jvm_options=SHORT_LIVED_JVM_OPTIONS,
    )
    the_stack = Stack(config)
    saved_env = dict(os.environ)
    the_stack.start()
    os.environ.update(the_stack.env())
    _reset_clients()
    try:
        yield the_stack
    finally:
        the_stack.stop()
        os.environ.clear()
        os.environ.update(saved_env)
        _reset_clients()
        shutil.rmtree(state_dir, ignore_errors=True)


def _reset_clients() -> None:
    from shared import clients, container
    from shared.settings import get_settings

    get_settings.cache_clear()
    clients.reset_for_tests()
    container.reset()


def wipe_firestore(stack: Stack) -> None:
    url = (
        f"http://127.0.0.1:{stack.ports.firestore}/emulator/v1/projects/"
        f"{stack.config.project_id}/databases/(default)/documents"
    )
    requests.delete(url, timeout=30).raise_for_status()


def wipe_auth(stack: Stack) -> None:
    url = (
        f"http://127.0.0.1:{stack.ports.auth}/emulator/v1/projects/"
        f"{stack.config.project_id}/accounts"
    )
    requests.delete(url, timeout=30).raise_for_status()


def wipe_fcm(stack: Stack) -> None:
    requests.delete(f"{stack.fcm_url}/messages", timeout=10).raise_for_status()


@pytest.fixture
def clean_stack(stack: Stack) -> Stack:
    """The stack with Firestore, Auth and the FCM record emptied before the test."""
    wipe_firestore(stack)
    wipe_auth(stack)
    wipe_fcm(stack)
    return stack


@pytest.fixture
def functions_client(stack: Stack) -> FunctionsClient:
    return FunctionsClient(stack.functions_base_url)


@pytest.fixture
def db(clean_stack: Stack) -> object:
    """A Firestore client on the emptied emulator."""
    from shared.clients import firestore_client

    return firestore_client()


@pytest.fixture
def auth_host(stack: Stack) -> str:
    return f"127.0.0.1:{stack.ports.auth}"


@pytest.fixture
def project_id(stack: Stack) -> str:
    return stack.config.project_id


@pytest.fixture(scope="module")
def sql(stack: Stack) -> Iterator[SqlMirrorStore]:
    """The mirror's PostgreSQL repository on the stack's database (not emptied)."""
    from sqlalchemy import create_engine

    from shared.sql.schema import sqlalchemy_url
    from shared.sql.store import SqlMirrorStore

    engine = create_engine(sqlalchemy_url(stack.postgres_dsn))
    yield SqlMirrorStore(engine)
    engine.dispose()


@pytest.fixture
def phases_restored(stack: Stack) -> Iterator[None]:
    """For tests that move phases with focusctl (some moves cannot be undone by a command):
    afterwards the defaults again, from the functions' next call on (no phase cache)."""
    from shared.clients import firestore_client
    from shared.migration.phases import CONFIG_COLLECTION, CONFIG_DOC

    assert stack.config.phase_cache_s == 0
    yield
    firestore_client().collection(CONFIG_COLLECTION).document(CONFIG_DOC).delete()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT
