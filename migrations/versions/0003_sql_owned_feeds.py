"""Session feeds owned by SQL (`sql_only`): the feed head in SQL and tombstone purge dates.

`session_feeds.sql_epoch`/`sql_seq` are set when a user's sessions move to `sql_only`: from then
on the SQL session store numbers the user's commits, and Firestore events of those sessions are
refused by the mirror. `focus_sessions.purge_at` is set on tombstones that store writes, for its
purge (mirrored rows have none).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("session_feeds", sa.Column("sql_epoch", sa.BigInteger(), nullable=True))
    op.add_column("session_feeds", sa.Column("sql_seq", sa.BigInteger(), nullable=True))
    op.add_column(
        "focus_sessions", sa.Column("purge_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        "ix_focus_sessions_purge_at",
        "focus_sessions",
        ["purge_at"],
        postgresql_where=sa.text("purge_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_focus_sessions_purge_at", table_name="focus_sessions")
    op.drop_column("focus_sessions", "purge_at")
    op.drop_column("session_feeds", "sql_seq")
    op.drop_column("session_feeds", "sql_epoch")
