"""Drop the sessions' server-time index, which nothing reads.

`ix_focus_sessions_user_id_server_updated_at_id` served a pull by server time that the sync feed
(`sync_seq`, `ix_focus_sessions_user_id_sync_seq`) replaced. Measured in docs/BENCHMARKS.md
(section `sql_scale`): 100 MB per million rows, the largest index of the table (about 100 GB at
1B rows), and one more index write for every mirrored session upsert (docs/SCALING.md).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "ix_focus_sessions_user_id_server_updated_at_id"


def upgrade() -> None:
    op.drop_index(_INDEX, table_name="focus_sessions")


def downgrade() -> None:
    op.create_index(_INDEX, "focus_sessions", ["user_id", "server_updated_at", "id"])
