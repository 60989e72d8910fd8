"""The SQLAlchemy engine of a function instance: built on first use, then reused.

Serverless instances come and go by the hundred, so each holds a *small* pool: `sql_pool_size`
connections (the function's concurrency: one per request in flight), no overflow, pre-ping (a
connection the instance kept across an idle period may have been closed by the server) and a
recycle age (IAM database tokens expire after an hour). The peak number of connections is then
max_instances x pool summed over the functions that use SQL; `tests/unit/test_mirror_engine.py`
and Terraform's `sql_connection_budget` check keep it under the instance's `max_connections`.

Two ways to reach PostgreSQL:
- production (`FOCUS_SQL_INSTANCE` set): the Cloud SQL Python connector, IAM database
  authentication (no password anywhere), private IP, the pg8000 driver through `creator=`;
- local stack and operators (`FOCUS_POSTGRES_DSN`): psycopg 3 on a libpq URL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from shared.once import once

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from shared.settings import Settings
    from shared.sql.store import SqlMirrorStore

CONNECT_TIMEOUT_S = 10
POOL_TIMEOUT_S = 10  # waiting for a free pooled connection; then the request fails (retried)


class Connector(Protocol):
    """The part of `google.cloud.sql.connector.Connector` the engine uses."""

    def connect(self, instance_connection_string: str, driver: str, **kwargs: Any) -> Any: ...


class SqlNotConfigured(RuntimeError):
    """Neither FOCUS_SQL_INSTANCE nor FOCUS_POSTGRES_DSN is set."""


def pool_options(settings: Settings) -> dict[str, Any]:
    """Engine keyword arguments of the per-instance pool (pure)."""
    return {
        "pool_size": settings.sql_pool_size,
        "max_overflow": 0,
        "pool_timeout": POOL_TIMEOUT_S,
        "pool_pre_ping": True,
        "pool_recycle": settings.sql_pool_recycle_s,
    }


def connector_creator(settings: Settings, connector: Connector) -> Callable[[], Any]:
    """The DBAPI connection factory for the Cloud SQL connector: IAM auth, pg8000 (pure)."""
    instance = settings.sql_instance
    user = settings.sql_iam_user
    if not instance or not user:
        raise SqlNotConfigured("FOCUS_SQL_INSTANCE and FOCUS_SQL_IAM_USER are both needed")

    def creator() -> Any:
        return connector.connect(
            instance,
            "pg8000",
            user=user,
            db=settings.sql_database,
            enable_iam_auth=True,
            ip_type=settings.sql_ip_type,
        )

    return creator


def build_engine(settings: Settings, connector: Connector | None = None) -> Engine:
    """An engine for `settings`: through the Cloud SQL connector when an instance is named,
    else on `postgres_dsn`. `connector` is for tests; production builds the real one lazily."""
    from sqlalchemy import create_engine

    if settings.sql_instance:
        if connector is None:
            connector = _cloud_sql_connector()
        return create_engine(
            "postgresql+pg8000://",
            creator=connector_creator(settings, connector),
            **pool_options(settings),
        )
    if settings.postgres_dsn:
        from shared.sql.schema import sqlalchemy_url

        return create_engine(
            sqlalchemy_url(settings.postgres_dsn),
            connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
            **pool_options(settings),
        )
    raise SqlNotConfigured("set FOCUS_SQL_INSTANCE (Cloud SQL) or FOCUS_POSTGRES_DSN (local)")


@once
def _cloud_sql_connector() -> Connector:
    # Imported only in production: the connector pulls in aiohttp and the Cloud SQL Admin API.
    from google.cloud.sql.connector import Connector as CloudSqlConnector

    # "lazy": refresh certificates on demand, not in a background task that a serverless
    # instance's throttled CPU would starve between requests.
    connector: Connector = CloudSqlConnector(refresh_strategy="lazy", timeout=CONNECT_TIMEOUT_S)
    return connector


@once
def engine() -> Engine:
    """The instance's engine (built once, on first use)."""
    from shared.settings import get_settings

    return build_engine(get_settings())


@once
def mirror_store() -> SqlMirrorStore:
    """The instance's `SqlMirrorStore` on `engine()`."""
    from shared.sql.store import SqlMirrorStore

    return SqlMirrorStore(engine())


def reset() -> None:
    """Dispose of the instance's engine (tests that switch databases)."""
    if engine.built:
        engine().dispose()
    engine.cache_clear()
    mirror_store.cache_clear()
