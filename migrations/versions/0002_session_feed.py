"""Sync feed positions in SQL: focus_sessions.sync_seq and the per-user watermark table.

The sync capability numbers each commit of a user's sessions (`syncSeq`, the feed position the
cursor names). Mirroring it lets a sync pull be answered from PostgreSQL with the same cursor in
every phase; `session_feeds` records up to which seq the mirror is complete.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: rows mirrored before this revision (or from writers that do not send it) have
    # none until their next write or a backfill.
    op.add_column("focus_sessions", sa.Column("sync_seq", sa.BigInteger(), nullable=True))
    op.create_index("ix_focus_sessions_user_id_sync_seq", "focus_sessions", ["user_id", "sync_seq"])
    op.create_table(
        "session_feeds",
        sa.Column("user_id", sa.Text(collation="C"), nullable=False),
        sa.Column("complete_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "pending",
            postgresql.ARRAY(sa.BigInteger()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("backfill_seq", sa.BigInteger(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("user_id", name="pk_session_feeds"),
    )


def downgrade() -> None:
    op.drop_table("session_feeds")
    op.drop_index("ix_focus_sessions_user_id_sync_seq", table_name="focus_sessions")
    op.drop_column("focus_sessions", "sync_seq")
