"""Reconcile's sample of the users SQL holds (`MirrorReads.sample_user_ids`): from a point of
the id space, wrapping around, from the users and the sessions tables, each user once."""

from __future__ import annotations

from sqlalchemy import Engine, text

from shared.sql.store import SqlMirrorStore


def _fill(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, timezone, created_at, source_version, content_hash) "
                "SELECT u, 'UTC', now(), 1, 'h' FROM unnest(CAST(:ids AS text[])) AS u"
            ),
            {"ids": ["a1", "c1", "e1"]},
        )
        # b1 has sessions but no user row (gone from Firestore); c1 has both; d1 many sessions.
        conn.execute(
            text(
                "INSERT INTO focus_sessions (user_id, id, updated_at, deleted, server_updated_at, "
                "source_version, content_hash) "
                "SELECT u, 's' || i, now(), true, now(), 1, 'h' "
                "FROM unnest(CAST(:ids AS text[])) AS u, generate_series(1, 5) AS i"
            ),
            {"ids": ["b1", "c1", "d1"]},
        )


def test_sample_starts_at_the_point_wraps_around_and_names_each_user_once(
    sql_engine: Engine,
) -> None:
    _fill(sql_engine)
    store = SqlMirrorStore(sql_engine)
    assert store.reads.sample_user_ids("b", 3) == ["b1", "c1", "d1"]
    assert store.reads.sample_user_ids("d", 4) == ["d1", "e1", "a1", "b1"]
    assert store.reads.sample_user_ids("", 10) == ["a1", "b1", "c1", "d1", "e1"]
    assert store.reads.sample_user_ids("z", 2) == ["a1", "b1"]
