"""One handle on the mirror's PostgreSQL database, its parts by the job they serve.

- `writer` (writes.py): the apply path of the consumer, erasure, backfill's bulk upserts,
  reconcile's repair, and the row writes of the SQL stores and the moves; the guarantees
  (versions, delete markers, the fence, erasure, per-user locks) are in its docstring.
- `feeds` (feeds.py): the session feed's watermark and backfill's feed heads, and the
  feed-ordered session reads of sync and export.
- `reads` (snapshots.py): per-user snapshots and reads (reconcile, phase reads), reconcile's
  sample of users.
- `state` (state.py): operator state (backfill and reconcile cursors, move flags).
- `ownership` (ownership.py): who owns what (`sql_only`).

Callers hold the handle (the composition root builds one per instance, `engine.mirror_store`)
and reach the part they need, so each part stays a small class with one job, and code that
needs one part can be given that part alone (the consumer takes the writer).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine

from shared.sql.feeds import SessionFeeds
from shared.sql.ownership import Ownership
from shared.sql.schema import sqlalchemy_url
from shared.sql.snapshots import MirrorReads
from shared.sql.state import OperatorState
from shared.sql.writes import MirrorWriter


class SqlMirrorStore:
    """The mirror's PostgreSQL repository (tables from `schema`, migrated to head), by job."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.writer = MirrorWriter(engine)
        self.feeds = SessionFeeds(engine)
        self.reads = MirrorReads(engine)
        self.state = OperatorState(engine)
        self.ownership = Ownership(engine)

    @classmethod
    def from_dsn(cls, dsn: str, **engine_options: Any) -> SqlMirrorStore:
        """A store on a new engine for a libpq URL (`postgresql://...`) over psycopg 3."""
        engine_options.setdefault("pool_pre_ping", True)
        return cls(create_engine(sqlalchemy_url(dsn), **engine_options))
