"""Indexes for the by-user reads of the mirror's own tables, and autovacuum for its big ones.

Measured in docs/BENCHMARKS.md (section `sql_scale`) and explained in docs/SCALING.md:

- `delete_markers` and `sql_owners` are keyed by (collection, user, ...), but the erasure
  (`erase_user`, `newest_version`) looks them up by user alone, which the key cannot serve (no
  skip scan in PostgreSQL 15): every erasure read the whole table. One index each on `user_id`.
- `focus_sessions`: PostgreSQL's defaults wait for 20% of a table to be dead (or newly inserted)
  before vacuuming it, which at a billion rows is 200M dead tuples of bloat and an index-only
  scan that stops being one. 1% instead (10M rows at 1B), analyze at 2% (the planner's view of
  `sync_seq` and `purge_at` keeps up with a table that grows by appending), and a larger cost
  limit so one pass over hundreds of GB ends within hours instead of days.
- `session_feeds`: one row per user updated by every mirrored commit; `fillfactor` 80 leaves
  room on each page for the new version, so the updates stay HOT (the key never changes: no
  index write), and vacuum comes at 5% instead of 20%.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SESSIONS = (
    "autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01, "
    "autovacuum_analyze_scale_factor = 0.02, autovacuum_vacuum_cost_limit = 2000"
)
_FEEDS = "fillfactor = 80, autovacuum_vacuum_scale_factor = 0.05"


def upgrade() -> None:
    op.create_index("ix_delete_markers_user_id", "delete_markers", ["user_id"])
    op.create_index("ix_sql_owners_user_id", "sql_owners", ["user_id"])
    op.execute(f"ALTER TABLE focus_sessions SET ({_SESSIONS})")
    op.execute(f"ALTER TABLE session_feeds SET ({_FEEDS})")


def _names(settings: str) -> str:
    return ", ".join(part.split("=")[0].strip() for part in settings.split(","))


def downgrade() -> None:
    op.execute(f"ALTER TABLE session_feeds RESET ({_names(_FEEDS)})")
    op.execute(f"ALTER TABLE focus_sessions RESET ({_names(_SESSIONS)})")
    op.drop_index("ix_sql_owners_user_id", table_name="sql_owners")
    op.drop_index("ix_delete_markers_user_id", table_name="delete_markers")
