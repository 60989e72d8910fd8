"""Operator state kept in the mirror's database (`mirror_state`): backfill and reconcile
cursors, the devices' move flags; one JSON value per key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from shared.sql.schema import metadata

_state = metadata.tables["mirror_state"]


class OperatorState:
    """Key -> JSON value, written by the operator tools and read back on their next run."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def put(self, key: str, value: Any) -> None:
        """Store a JSON value under `key` (backfill cursors, phase settings)."""
        insert = pg_insert(_state).values(key=key, value=value)
        with self._engine.begin() as conn:
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["key"],
                    set_={"value": insert.excluded.value, "updated_at": func.now()},
                )
            )

    def get(self, key: str) -> Any | None:
        """The value stored under `key`, or None."""
        with self._engine.connect() as conn:
            return conn.execute(select(_state.c.value).where(_state.c.key == key)).scalar()
