"""Migrations on a real PostgreSQL, and the private cluster that the stack and the tests run."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from devstack.postgres import SERVER_USER, PostgresCluster
from devstack.process import free_port
from shared.sql.schema import alembic_config, metadata, sqlalchemy_url, upgrade_to_head

REPO_ROOT = Path(__file__).resolve().parents[2]
MIRROR_TABLES = {table.name for table in metadata.sorted_tables}


@pytest.fixture
def scratch_dsn(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """A new, empty database of its own (migrations must not disturb the shared one)."""
    name = f"scratch_{uuid.uuid4().hex[:12]}"
    dsn = postgres_cluster.databases.create(name)
    try:
        yield dsn
    finally:
        postgres_cluster.databases.drop(name)


def _tables(dsn: str) -> set[str]:
    engine = create_engine(sqlalchemy_url(dsn))
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def _schema_drift(dsn: str) -> list[object]:
    engine = create_engine(sqlalchemy_url(dsn))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def test_migrations_up_down_up(scratch_dsn: str) -> None:
    upgrade_to_head(scratch_dsn)
    assert _tables(scratch_dsn) == MIRROR_TABLES | {"alembic_version"}

    command.downgrade(alembic_config(scratch_dsn), "base")
    assert _tables(scratch_dsn) == {"alembic_version"}

    upgrade_to_head(scratch_dsn)
    upgrade_to_head(scratch_dsn)  # a second call finds nothing to do
    assert _tables(scratch_dsn) == MIRROR_TABLES | {"alembic_version"}


def test_head_matches_the_models(scratch_dsn: str) -> None:
    upgrade_to_head(scratch_dsn)
    assert _schema_drift(scratch_dsn) == []


def test_the_alembic_command_line_reads_the_dsn_from_the_environment(scratch_dsn: str) -> None:
    env = {**os.environ, "FOCUS_POSTGRES_DSN": scratch_dsn, "PYTHONPATH": str(REPO_ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    current = subprocess.run(
        [sys.executable, "-m", "alembic", "-x", f"dsn={scratch_dsn}", "current"],
        cwd=REPO_ROOT,
        env={**env, "FOCUS_POSTGRES_DSN": ""},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "(head)" in current.stdout, current.stderr


# -- the cluster -------------------------------------------------------------------------------


def _process_group(pgid: int) -> set[tuple[int, str]]:
    """(pid, start time) of every live process in a process group."""
    from devstack.process import proc_stats

    return {
        (pid, fields[19])  # the start time: a pid reused later is another process
        for pid, fields in proc_stats()
        if int(fields[2]) == pgid and fields[0] != "Z"  # in the group, not a zombie
    }


def _postmaster_pid(cluster: PostgresCluster) -> int:
    return int((cluster.pgdata / "postmaster.pid").read_text().splitlines()[0])


def test_cluster_starts_reuses_its_data_and_stop_leaves_no_process(tmp_path: Path) -> None:
    port = free_port()
    cluster_dir = REPO_ROOT / ".local" / f"test-pg-{port}"
    cluster = PostgresCluster(cluster_dir, port, tmp_path / "logs")
    try:
        cluster.start(wipe=True)
        assert cluster.created
        postmaster = _postmaster_pid(cluster)
        if os.geteuid() == 0:
            owner = Path(f"/proc/{postmaster}").stat().st_uid
            assert owner == pwd.getpwnam(SERVER_USER).pw_uid  # never as root
        with psycopg.connect(cluster.dsn) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("focus",)
            conn.execute("CREATE TABLE kept (x int)")
            conn.commit()
            assert conn.execute("SHOW fsync").fetchone() == ("off",)
            assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)

        group = os.getpgid(postmaster)
        processes = _process_group(group)
        assert len(processes) > 1  # the postmaster and its helpers
        idle_client = psycopg.connect(cluster.dsn)  # a fast shutdown does not wait for it
        cluster.stop()
        idle_client.close()
        assert not _process_group(group) & processes
        assert not cluster.running

        cluster.start()  # no wipe: the data directory is reused
        assert not cluster.created
        with psycopg.connect(cluster.dsn) as conn:
            assert conn.execute("SELECT count(*) FROM kept").fetchone() == (0,)
    finally:
        cluster.destroy()
    assert not cluster_dir.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_cluster_runs_as_a_normal_user() -> None:
    """As root, the other tests cover the root path; here the same code runs unprivileged.

    A forked child drops to the server user rather than exec-ing a new interpreter, which may
    live where that user cannot read (a pyenv under /root).
    """
    server = pwd.getpwnam(SERVER_USER)
    work = Path(tempfile.mkdtemp(prefix="focus-pg-user-"))
    os.chown(work, server.pw_uid, server.pw_gid)
    port = free_port()
    try:
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            code = 1
            try:
                os.setgroups([])
                os.setgid(server.pw_gid)
                os.setuid(server.pw_uid)
                os.environ["HOME"] = str(work)
                cluster = PostgresCluster(work / "pg", port, work / "logs")
                cluster.start(wipe=True)
                try:
                    with psycopg.connect(cluster.dsn) as conn:
                        user = conn.execute("SELECT current_user").fetchone()
                finally:
                    cluster.destroy()
                code = 0 if user == ("focus",) else 2
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        shutil.rmtree(work, ignore_errors=True)
