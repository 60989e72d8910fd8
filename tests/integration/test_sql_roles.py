"""The functions' database roles on a real PostgreSQL (migration 0006, shared/sql/roles.py): a
reader's write is refused, a writer does what the mirror does and nothing more (no DDL), and
`converge` puts exactly the registry's users in each role."""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import ProgrammingError

from devstack.postgres import APP_DATABASE, SUPERUSER, PostgresCluster
from shared import registry
from shared.changes import ChangeRecord
from shared.sql import roles as sql_roles
from shared.sql.events import ChangeBatch
from shared.sql.schema import sqlalchemy_url
from shared.sql.store import SqlMirrorStore
from tests.fixtures.postgres import REPO_ROOT

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _admin(cluster: PostgresCluster) -> Engine:
    return create_engine(
        sqlalchemy_url(cluster.database_dsn(APP_DATABASE, user=SUPERUSER)),
        isolation_level="AUTOCOMMIT",
    )


@pytest.fixture
def login_as(postgres_cluster: PostgresCluster) -> Iterator[object]:
    """login_as(group) -> an engine of a fresh login user in `group` (None: in no group)."""
    admin = _admin(postgres_cluster)
    made: list[tuple[str, Engine]] = []

    def make(group: str | None) -> Engine:
        name = f"fn-test-{uuid.uuid4().hex[:8]}@demo.iam"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE ROLE "{name}" LOGIN'))
            if group is not None:
                conn.execute(text(f'GRANT {group} TO "{name}"'))
        engine = create_engine(
            sqlalchemy_url(postgres_cluster.database_dsn(APP_DATABASE, user=name))
        )
        made.append((name, engine))
        return engine

    yield make
    for name, engine in made:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP OWNED BY "{name}"'))
            conn.execute(text(f'DROP ROLE "{name}"'))
    admin.dispose()


def _refused(engine: Engine, statement: str) -> bool:
    try:
        with engine.begin() as conn:
            conn.execute(text(statement))
    except ProgrammingError as err:
        return any(
            why in str(err) for why in ("permission denied", "must be owner", "admin option")
        )
    return False


def _user_batch(uid: str, version: int) -> ChangeBatch:
    data = {
        "uid": uid,
        "timezone": "Europe/Paris",
        "locale": "fr",
        "createdAt": "2026-01-01T00:00:00Z",
    }
    record = ChangeRecord(
        collection="users", uid=uid, id=uid, op="upsert", version=version, data=data
    )
    return ChangeBatch(records=[record], emitted_at=T0)


def test_the_migration_names_the_roles_the_code_grants() -> None:
    path = REPO_ROOT / "migrations" / "versions" / "0006_app_roles.py"
    spec = importlib.util.spec_from_file_location("app_roles_migration", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert (migration.WRITER, migration.READER) == (sql_roles.WRITER, sql_roles.READER)


def test_a_reader_reads_and_cannot_write(sql_engine: Engine, login_as: object) -> None:
    uid = f"uid-{uuid.uuid4().hex}"
    SqlMirrorStore(sql_engine).writer.apply(_user_batch(uid, 10))
    reader = login_as(sql_roles.READER)  # type: ignore[operator]

    assert SqlMirrorStore(reader).reads.get_user(uid) is not None
    with pytest.raises(ProgrammingError, match="permission denied"):
        SqlMirrorStore(reader).writer.apply(_user_batch(uid, 11))
    assert _refused(reader, f"DELETE FROM users WHERE id = '{uid}'")
    assert _refused(reader, "UPDATE mirror_state SET value = value")


def test_a_user_in_no_role_reads_nothing(sql_engine: Engine, login_as: object) -> None:
    del sql_engine  # the migrated database
    nobody = login_as(None)  # type: ignore[operator]
    assert _refused(nobody, "SELECT count(*) FROM users")


def test_a_writer_does_what_the_mirror_does(sql_engine: Engine, login_as: object) -> None:
    del sql_engine
    writer = SqlMirrorStore(login_as(sql_roles.WRITER))  # type: ignore[operator]
    uid = f"uid-{uuid.uuid4().hex}"

    assert writer.writer.apply(_user_batch(uid, 10)).applied == 1
    assert writer.reads.get_user(uid) is not None
    writer.state.put("roles-test", {"ok": True})
    assert writer.state.get("roles-test") == {"ok": True}
    writer.writer.erase_user(uid, 20)
    assert writer.reads.get_user(uid) is None


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE planted (id int)",
        "ALTER TABLE users ADD COLUMN planted int",
        "DROP TABLE schedules",
        "TRUNCATE focus_sessions",
        "CREATE INDEX planted ON users (id)",
        "UPDATE alembic_version SET version_num = version_num",
        "DELETE FROM alembic_version",
        "GRANT focus_writer TO focus_reader",
    ],
)
def test_a_writer_cannot_change_the_schema(
    sql_engine: Engine, login_as: object, statement: str
) -> None:
    del sql_engine
    writer = login_as(sql_roles.WRITER)  # type: ignore[operator]
    assert _refused(writer, statement), statement


def test_tables_of_later_migrations_get_the_same_grants(
    sql_engine: Engine, login_as: object
) -> None:
    """Default privileges: a table the migrator creates later is readable and writable."""
    with sql_engine.begin() as conn:
        conn.execute(text("CREATE TABLE later_table (id int)"))
    try:
        writer = login_as(sql_roles.WRITER)  # type: ignore[operator]
        reader = login_as(sql_roles.READER)  # type: ignore[operator]
        with writer.begin() as conn:
            conn.execute(text("INSERT INTO later_table VALUES (1)"))
        with reader.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM later_table")).scalar() == 1
        assert _refused(reader, "INSERT INTO later_table VALUES (2)")
    finally:
        with sql_engine.begin() as conn:
            conn.execute(text("DROP TABLE later_table"))


def test_converge_puts_exactly_the_wanted_users_in_each_role(
    postgres_cluster: PostgresCluster, sql_engine: Engine, login_as: object
) -> None:
    del sql_engine
    login_as(None)  # type: ignore[operator]
    names = [f"fn-{tag}-{uuid.uuid4().hex[:6]}@demo.iam" for tag in ("w", "r", "stray")]
    admin = _admin(postgres_cluster)
    try:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'CREATE ROLE "{name}" LOGIN'))
            # A stray member (a function removed from the registry), and a reader wrongly
            # given write access.
            conn.execute(text(f'GRANT focus_writer TO "{names[2]}"'))
            conn.execute(text(f'GRANT focus_writer TO "{names[1]}"'))
        wanted = {
            names[0]: sql_roles.WRITER,
            names[1]: sql_roles.READER,
            "fn-gone@demo.iam": sql_roles.READER,
        }
        with admin.begin() as conn:
            done = sql_roles.converge(conn, wanted)
        assert f"granted focus_writer to {names[0]}" in done
        assert f"granted focus_reader to {names[1]}" in done
        assert f"revoked focus_writer from {names[1]}" in done
        assert f"revoked focus_writer from {names[2]}" in done
        assert "missing user fn-gone@demo.iam (created by Terraform)" in done
        with admin.begin() as conn:
            again = sql_roles.converge(conn, wanted)
        assert again == ["missing user fn-gone@demo.iam (created by Terraform)"]
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP ROLE IF EXISTS "{name}"'))
        admin.dispose()


def test_every_sql_function_has_a_role() -> None:
    wanted = sql_roles.wanted_members("demo-focus")
    sql_functions = [fn for fn in registry.FUNCTIONS if registry.SQL_INSTANCE_USER in fn.roles]
    assert len(wanted) == len(sql_functions)
    assert wanted["fn-mirrorchanges@demo-focus.iam"] == sql_roles.WRITER
    assert wanted["fn-exportaccount@demo-focus.iam"] == sql_roles.READER
