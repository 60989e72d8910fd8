"""Collections owned by SQL per user (`sql_only` beyond sessions), and schedule revisions.

A row (`collection`, `user_id`) of `sql_owners` means SQL is the source of that user's documents
of that collection: the SQL store writes them, and the mirror refuses Firestore's copies.
Sessions keep their ownership in `session_feeds.sql_seq`, with the feed head.
`schedules.revision` is the push planning revision (shared/schedules), kept by the SQL schedule
store; mirrored rows have none.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sql_owners",
        sa.Column("collection", sa.Text(collation="C"), nullable=False),
        sa.Column("user_id", sa.Text(collation="C"), nullable=False),
        sa.Column(
            "owned_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("collection", "user_id", name="pk_sql_owners"),
    )
    op.add_column("schedules", sa.Column("revision", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("schedules", "revision")
    op.drop_table("sql_owners")
