"""Initial mirror schema: users, devices, focus_sessions, schedules and the mirror's own tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _key(name: str) -> sa.Column[str]:
    # Byte-wise ("C") order for ids, as in Firestore and the API's tie-breaker.
    return sa.Column(name, sa.Text(collation="C"), nullable=False)


def _mirror_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("source_version", sa.BigInteger(), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column(
            "mirrored_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "users",
        _key("id"),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("locale", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_mirror_columns(),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
    )
    op.create_table(
        "devices",
        _key("user_id"),
        _key("id"),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("app_version", sa.Text(), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        *_mirror_columns(),
        sa.PrimaryKeyConstraint("user_id", "id", name="pk_devices"),
    )
    op.create_table(
        "focus_sessions",
        _key("user_id"),
        _key("id"),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("planned_end_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column(
            "blocked_apps",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("schedule_id", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("device_id", sa.Text(), nullable=True),
        sa.Column("deleted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("server_updated_at", sa.DateTime(timezone=True), nullable=False),
        *_mirror_columns(),
        sa.CheckConstraint(
            "deleted OR (started_at IS NOT NULL AND status IS NOT NULL AND device_id IS NOT NULL)",
            name="ck_focus_sessions_live_fields",
        ),
        sa.PrimaryKeyConstraint("user_id", "id", name="pk_focus_sessions"),
    )
    op.create_index(
        "ix_focus_sessions_user_id_server_updated_at_id",
        "focus_sessions",
        ["user_id", "server_updated_at", "id"],
    )
    op.create_table(
        "schedules",
        _key("user_id"),
        _key("id"),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("days", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("start", sa.Text(), nullable=False),
        sa.Column("end", sa.Text(), nullable=False),
        sa.Column(
            "blocked_apps",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        *_mirror_columns(),
        sa.PrimaryKeyConstraint("user_id", "id", name="pk_schedules"),
    )
    op.create_table(
        "delete_markers",
        _key("collection"),
        _key("user_id"),
        _key("id"),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "deleted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("collection", "user_id", "id", name="pk_delete_markers"),
    )
    op.create_table(
        "erased_users",
        sa.Column("user_hash", sa.Text(), nullable=False),
        sa.Column(
            "erased_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("erased_version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_hash", name="pk_erased_users"),
    )
    op.create_table(
        "mirror_state",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", postgresql.JSONB(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("key", name="pk_mirror_state"),
    )


def downgrade() -> None:
    op.drop_table("mirror_state")
    op.drop_table("erased_users")
    op.drop_table("delete_markers")
    op.drop_table("schedules")
    op.drop_index("ix_focus_sessions_user_id_server_updated_at_id", table_name="focus_sessions")
    op.drop_table("focus_sessions")
    op.drop_table("devices")
    op.drop_table("users")
