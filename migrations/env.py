"""Alembic environment: runs the migrations against the DSN the caller names.

The DSN comes from, in order: `upgrade_to_head(dsn)` (config.attributes["dsn"]), the command
line (`alembic -x dsn=postgresql://...`), or the environment (`FOCUS_POSTGRES_DSN`). A libpq
URL is accepted and driven through psycopg 3.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from shared.sql.schema import metadata, sqlalchemy_url

# Two deploys migrating at once would both try to create the same tables; this transaction-level
# advisory lock makes the second wait and then find nothing left to do.
_MIGRATION_LOCK = int.from_bytes(b"focusmig", "big")  # any constant no other code locks on

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _dsn() -> str:
    dsn = (
        config.attributes.get("dsn")
        or context.get_x_argument(as_dictionary=True).get("dsn")
        or os.environ.get("FOCUS_POSTGRES_DSN")
    )
    if not dsn:
        raise RuntimeError("no database: set FOCUS_POSTGRES_DSN or pass -x dsn=postgresql://...")
    return sqlalchemy_url(str(dsn))


def run_migrations_offline() -> None:
    """`alembic upgrade head --sql`: print the SQL instead of running it."""
    context.configure(url=_dsn(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(_dsn(), poolclass=NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, compare_type=True)
        with context.begin_transaction():
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
