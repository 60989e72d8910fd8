"""The PostgreSQL schema of the mirror as code, the field <-> column mapping, and migrations.

Tables follow the Firestore layout: `users` keyed by `id` (the uid); `devices`, `focus_sessions`
and `schedules` keyed by (`user_id`, `id`). Columns are the API fields in snake_case plus
the mirror's bookkeeping on every table:

- `source_version`: the Firestore `update_time` of the mirrored write (microseconds since the
  epoch); every write is guarded by it, so duplicated and reordered events converge.
- `content_hash`: `events.content_hash` of the API-visible fields, what reconcile compares.
- `mirrored_at`: when the row was last written here.

Decisions:
- No foreign keys between the tables: events arrive in any order (a session before its user).
- Key columns use the "C" collation: byte-wise order as in Firestore and in the API's
  tie-breaker, independent of the server's locale, and cheaper index comparisons.
- Lists (`blocked_apps`, `days`) are `text[]`, not jsonb: they are lists of strings and nothing
  else, an array keeps that typed (no numbers or objects sneak in), maps to `list[str]` in both
  drivers, is smaller, and can be indexed (GIN) or searched with `= ANY` if ever needed.
- Enumerations (`status`, `platform`, `days`) are plain text: the API validates them, and a
  check here would turn a value the API gains later into a poison message for the mirror.
- FCM tokens are not mirrored: they are operational secrets bound to Firebase. Only when devices
  move to `sql_only` (all at once) are tokens copied, into `devices.fcm_token` and `fcm_tokens`.
- `delete_markers` remembers deleted documents so that an older upsert arriving after the
  delete cannot bring the row back (see `store`); pruned after the redelivery window.
- `erased_users` remembers deleted accounts by sha256(uid) only, never the uid itself: a stale
  event arriving after the erasure must not re-create data, and keeping the uid would leave a
  trace of the account (GDPR). The hash is only useful to someone who already knows the uid.
- `mirror_state` holds small JSON values (backfill cursors and reports).
- `session_feeds` is the watermark of each user's sync feed in SQL (see `SessionFeed`).
- `sql_owners` names the (collection, user) pairs SQL owns in `sql_only` (see `SqlOwner`).

Migrations live in `migrations/` at the repository root (Alembic) and are run by the local
stack, CI and the deploy job, never by a function: `upgrade_to_head(dsn)`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Index,
    MetaData,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.changes import ChangeRecord, Collection
from shared.sql.events import FIELDS, ChangeDataError, hash_normalized, identity_field, normalize

if TYPE_CHECKING:
    from alembic.config import Config

REPO_ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS_DIR = REPO_ROOT / "migrations"

_NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

KeyText = Text(collation="C")
Timestamp = DateTime(timezone=True)
TextList = ARRAY(Text)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=_NAMING)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads it as a class attribute
        str: Text,
        int: BigInteger,
        bool: Boolean,
        datetime: Timestamp,
        list[str]: TextList,
    }


class MirrorColumns:
    """Bookkeeping columns of every mirrored table."""

    source_version: Mapped[int]
    content_hash: Mapped[str]
    mirrored_at: Mapped[datetime] = mapped_column(server_default=func.now())


class User(MirrorColumns, Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(KeyText, primary_key=True)
    timezone: Mapped[str]
    locale: Mapped[str | None]
    created_at: Mapped[datetime]


class Device(MirrorColumns, Base):
    __tablename__ = "devices"

    user_id: Mapped[str] = mapped_column(KeyText, primary_key=True)
    id: Mapped[str] = mapped_column(KeyText, primary_key=True)  # deviceId
    platform: Mapped[str]
    app_version: Mapped[str | None]
    registered_at: Mapped[datetime]
    # Kept by the SQL device store once devices are `sql_only`; the mirror never carries them.
    fcm_token: Mapped[str | None]
    token_updated_at: Mapped[datetime | None]
    push_state: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class FcmToken(Base):
    """Who holds an FCM token (`sql_only` devices): the SQL twin of Firestore's `fcmTokens`."""

    __tablename__ = "fcm_tokens"
    __table_args__ = (Index(None, "user_id"),)

    token_id: Mapped[str] = mapped_column(KeyText, primary_key=True)  # sha256 of the token
    user_id: Mapped[str] = mapped_column(KeyText)
    device_id: Mapped[str] = mapped_column(KeyText)
    token: Mapped[str]


class FocusSession(MirrorColumns, Base):
    __tablename__ = "focus_sessions"
    __table_args__ = (
        # A tombstone may carry only its id and timestamps; a live session carries the rest.
        CheckConstraint(
            "deleted OR (started_at IS NOT NULL AND status IS NOT NULL AND device_id IS NOT NULL)",
            name="live_fields",
        ),
        # The sync pull by feed position (sync_seq, document id), as shared/sessions reads it.
        Index(None, "user_id", "sync_seq"),
        # The tombstone purge of SQL-owned feeds (`sql_only`): only their tombstones have one.
        Index(None, "purge_at", postgresql_where=text("purge_at IS NOT NULL")),
    )

    user_id: Mapped[str] = mapped_column(KeyText, primary_key=True)
    id: Mapped[str] = mapped_column(KeyText, primary_key=True)
    started_at: Mapped[datetime | None]
    planned_end_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    status: Mapped[str | None]
    label: Mapped[str | None]
    blocked_apps: Mapped[list[str]] = mapped_column(server_default=text("'{}'"))
    schedule_id: Mapped[str | None]
    updated_at: Mapped[datetime]
    device_id: Mapped[str | None]
    deleted: Mapped[bool] = mapped_column(server_default=text("false"))
    server_updated_at: Mapped[datetime]
    sync_seq: Mapped[int | None]
    # When a tombstone written by the SQL session store (`sql_only`) may be purged; mirrored
    # rows have none (Firestore's purge publishes their deletes).
    purge_at: Mapped[datetime | None]


class SessionFeed(Base):
    """How far the mirror holds a user's session feed (shared/sessions: one `seq` per commit).

    Every commit of a user's sessions takes the next `seq` and publishes its sessions with it,
    but events arrive in any order, so the mirror keeps a watermark: `complete_seq` is the
    highest seq such that every commit up to it has been mirrored, `pending` the seqs seen above
    it. A sync pull up to seq `upto` may be answered from SQL only when `complete_seq >= upto`;
    otherwise the row of some commit may still be in flight (phases.py falls back to Firestore).
    A backfill or a clean reconcile raises `complete_seq` to the Firestore head it read first.

    `sql_seq` set means SQL owns the feed (the user's `sessions` phase is `sql_only`): the SQL
    session store numbers commits from there on (`sql_seq` is its head, `sql_epoch` the epoch
    carried over from Firestore so cursors stay valid), and the mirror refuses session events
    of that user from Firestore (shared/sessions/sql.py says why).
    """

    __tablename__ = "session_feeds"

    user_id: Mapped[str] = mapped_column(KeyText, primary_key=True)
    complete_seq: Mapped[int] = mapped_column(server_default=text("0"))
    pending: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), server_default=text("'{}'"))
    backfill_seq: Mapped[int | None]  # the head a running backfill read before the sessions
    sql_epoch: Mapped[int | None]
    sql_seq: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Schedule(MirrorColumns, Base):
    __tablename__ = "schedules"

    user_id: Mapped[str] = mapped_column(KeyText, primary_key=True)
    id: Mapped[str] = mapped_column(KeyText, primary_key=True)
    name: Mapped[str]
    timezone: Mapped[str]
    days: Mapped[list[str]]
    start: Mapped[str]  # "HH:MM"
    end: Mapped[str]  # "HH:MM"
    blocked_apps: Mapped[list[str]] = mapped_column(server_default=text("'{}'"))
    enabled: Mapped[bool]
    updated_at: Mapped[datetime]
    # The push planning revision (shared/schedules), kept by the SQL schedule store in
    # `sql_only`; mirrored rows have none (it is not an API field).
    revision: Mapped[int | None]


class DeleteMarker(Base):
    """A mirrored document deleted at `version`: older upserts of it are ignored."""

    __tablename__ = "delete_markers"
    __table_args__ = (Index(None, "user_id"),)  # the erasure's by-user reads (migration 0007)

    collection: Mapped[str] = mapped_column(KeyText, primary_key=True)
    user_id: Mapped[str] = mapped_column(KeyText, primary_key=True)
    id: Mapped[str] = mapped_column(KeyText, primary_key=True)
    version: Mapped[int]
    deleted_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ErasedUser(Base):
    """An erased account, by sha256(uid) only: its events up to `erased_version` are dropped."""

    __tablename__ = "erased_users"

    user_hash: Mapped[str] = mapped_column(primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(server_default=func.now())
    erased_version: Mapped[int]


class SqlOwner(Base):
    """SQL is the source of this user's documents of this collection (`sql_only`): the SQL store
    writes them and the mirror refuses Firestore's copies. Sessions keep theirs in
    `session_feeds.sql_seq`, beside the feed head."""

    __tablename__ = "sql_owners"
    __table_args__ = (Index(None, "user_id"),)  # the erasure's by-user delete (migration 0007)

    collection: Mapped[str] = mapped_column(KeyText, primary_key=True)
    user_id: Mapped[str] = mapped_column(KeyText, primary_key=True)
    owned_at: Mapped[datetime] = mapped_column(server_default=func.now())


class MirrorState(Base):
    """Small named JSON values: backfill cursors, phase settings."""

    __tablename__ = "mirror_state"

    key: Mapped[str] = mapped_column(primary_key=True)
    value: Mapped[Any] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


metadata = Base.metadata


# -- field <-> column mapping (pure) -----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TableMap:
    """How one Firestore collection maps onto its table."""

    collection: Collection
    table: Table
    user_column: str  # the column holding the owner's uid
    key_columns: tuple[str, ...]
    columns: Mapping[str, str]  # API field name -> column name


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _table_map(collection: Collection, table: Table) -> TableMap:
    columns = {f.name: "id" if f.identity else _snake(f.name) for f in FIELDS[collection]}
    if collection == "users":
        return TableMap(collection, table, "id", ("id",), columns)
    return TableMap(collection, table, "user_id", ("user_id", "id"), columns)


TABLES: dict[Collection, TableMap] = {
    "users": _table_map("users", metadata.tables["users"]),
    "devices": _table_map("devices", metadata.tables["devices"]),
    "sessions": _table_map("sessions", metadata.tables["focus_sessions"]),
    "schedules": _table_map("schedules", metadata.tables["schedules"]),
}


def row_from_record(record: ChangeRecord) -> dict[str, Any]:
    """The table row of an upsert: key, columns, `source_version` and `content_hash`.

    Raises events.ChangeDataError when the data is malformed or names another document.
    """
    if record.data is None:
        raise ValueError("row_from_record needs an upsert")
    mapping = TABLES[record.collection]
    data = normalize(record.collection, record.data)
    id_name = identity_field(record.collection).name
    if data[id_name] is not None and data[id_name] != record.id:
        raise ChangeDataError(
            f"{record.collection}/{record.id}: data has {id_name}={data[id_name]!r}"
        )
    row = {column: data[name] for name, column in mapping.columns.items()}
    row["id"] = record.id
    row[mapping.user_column] = record.uid
    row["source_version"] = record.version
    row["content_hash"] = hash_normalized(record.collection, data)
    return row


def data_from_row(collection: Collection, row: Mapping[Any, Any]) -> dict[str, Any]:
    """The document data (camelCase, datetimes) of a table row: the inverse of row_from_record."""
    return {name: row[column] for name, column in TABLES[collection].columns.items()}


# -- migrations --------------------------------------------------------------------------------


def sqlalchemy_url(dsn: str) -> str:
    """A SQLAlchemy URL on psycopg 3 for a libpq URL (`postgresql://...` or `postgres://...`)."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if dsn.startswith(prefix):
            return "postgresql+psycopg://" + dsn.removeprefix(prefix)
    raise ValueError("expected a postgresql:// URL")


def alembic_config(dsn: str) -> Config:
    """An Alembic configuration for the repository's migrations against `dsn`.

    Built in code rather than read from `alembic.ini`, so it works from any working directory;
    `migrations/env.py` reads the DSN from `config.attributes["dsn"]`.
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["dsn"] = dsn
    return config


def upgrade_to_head(dsn: str) -> None:
    """Apply every pending migration (`alembic upgrade head`); concurrent callers serialise."""
    from alembic import command

    command.upgrade(alembic_config(dsn), "head")
