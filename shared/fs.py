"""Small Firestore helpers every repository uses: metered reads and commits, optimistic retries.

Writes use optimistic concurrency rather than server transactions: read the documents (one
batched `get_all`), decide in pure code, then commit one atomic batch whose every write carries a
precondition (`exists=False` for a new document, `last_update_time` for an existing one). A
concurrent writer makes the commit fail as a whole, and the attempt is redone from the read.
Compared with a transaction this takes no locks, and the commit returns each document's
`update_time`, the version the dual-write mirror orders changes by.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.errors import Conflict
from shared.metering import count_deletes, count_reads, count_writes

if TYPE_CHECKING:
    from google.cloud import firestore

MAX_BATCH_WRITES = 500  # Firestore's limit of writes in one commit
OPTIMISTIC_ATTEMPTS = 6


def get_all(
    client: firestore.Client, refs: Sequence[firestore.DocumentReference]
) -> dict[str, firestore.DocumentSnapshot[Any]]:
    """Snapshots by document path (missing documents included, `exists` False); one RPC."""
    if not refs:
        return {}
    count_reads(len(refs))
    return {snap.reference.path: snap for snap in client.get_all(list(refs))}


def version_of(update_time: Any) -> int:
    """A Firestore `update_time` as whole microseconds since the epoch (the mirror version): a
    datetime, or the protobuf Timestamp that some query results carry."""
    if isinstance(update_time, datetime):
        return int(update_time.timestamp()) * 1_000_000 + update_time.microsecond
    return int(update_time.seconds) * 1_000_000 + int(update_time.nanos) // 1000


def read_version(snap: firestore.DocumentSnapshot[Any]) -> int:
    """The mirror version of what `snap` saw: the document's `update_time`, or, for a missing
    document, the read time (it did not exist then, so a delete marker at that version is true
    and any later re-creation has a newer version)."""
    seen: datetime = snap.update_time if snap.exists else snap.read_time
    return version_of(seen)


def put(
    client: firestore.Client,
    batch: firestore.WriteBatch,
    ref: firestore.DocumentReference,
    snap: firestore.DocumentSnapshot[Any] | None,
    data: dict[str, Any],
) -> None:
    """Write `data` as the whole document, failing the commit if it changed since `snap`.

    A new document is created (fails if it appeared meanwhile); an existing one is updated field
    by field with a `last_update_time` precondition (`set` takes no precondition). Callers always
    write the complete field set of their documents, so no stale field survives.
    """
    from shared import fs_encode

    if snap is None or not snap.exists:
        write = fs_encode.create_write(ref._document_path, data)
        if write is None:
            batch.create(ref, data)
            return
    else:
        write = fs_encode.update_write(ref._document_path, data, snap.update_time)
        if write is None:
            batch.update(ref, data, option=client.write_option(last_update_time=snap.update_time))
            return
    fs_encode.add(batch, write)  # the same Write as the library's, built ~15x faster


def mark_changed(client: firestore.Client, batch: firestore.WriteBatch, uid: str) -> None:
    """Add the rewrite of `uid`'s change marker (`users/{uid}/syncState/changes`, see
    shared/changes.py) to `batch`: one more write in a commit the caller already makes, at the
    commit's time, so the incremental reconcile finds the user. Unconditional: two racing
    writers both leave a time at or after their own commit, which is all the pass needs."""
    from google.cloud.firestore import SERVER_TIMESTAMP

    from shared.changes import CHANGE_MARKER_DOC, change_shard

    ref = (
        client.collection("users").document(uid).collection("syncState").document(CHANGE_MARKER_DOC)
    )
    batch.set(ref, {"shard": change_shard(uid), "updatedAt": SERVER_TIMESTAMP})


def delete(
    client: firestore.Client,
    batch: firestore.WriteBatch,
    ref: firestore.DocumentReference,
    snap: firestore.DocumentSnapshot[Any] | None,
) -> None:
    """Delete `ref`, failing the commit if it changed since `snap` (when given and present)."""
    if snap is not None and snap.exists:
        batch.delete(ref, option=client.write_option(last_update_time=snap.update_time))
    else:
        batch.delete(ref)


def delete_all(client: firestore.Client, refs: Iterable[firestore.DocumentReference]) -> int:
    """Delete every document of `refs` unconditionally, `MAX_BATCH_WRITES` per commit (each
    commit atomic, not the whole); returns how many."""
    deleted = 0
    for chunk in chunked(refs, MAX_BATCH_WRITES):
        batch = client.batch()
        for ref in chunk:
            batch.delete(ref)
        commit(batch, writes=0, deletes=len(chunk))
        deleted += len(chunk)
    return deleted


def commit(batch: firestore.WriteBatch, writes: int, deletes: int = 0) -> list[Any]:
    """Commit and meter; returns the write results (with `update_time`) in write order.

    Only a successful commit is billed, so only a successful commit is counted.
    """
    from shared import tracing

    with tracing.span("firestore.commit", kind="client", writes=writes, deletes=deletes):
        results: list[Any] = batch.commit()
    count_writes(writes)
    count_deletes(deletes)
    return results


def run_optimistic[T](attempt: Callable[[], T], attempts: int = OPTIMISTIC_ATTEMPTS) -> T:
    """Run read-decide-commit `attempt` until no concurrent writer invalidates its reads.

    Between attempts it sleeps a short, growing, jittered delay so that writers contending for
    the same documents spread out instead of colliding again.
    """
    import random
    import time

    from google.api_core import exceptions

    retryable = (exceptions.FailedPrecondition, exceptions.AlreadyExists, exceptions.Aborted)
    for n in range(attempts):
        try:
            return attempt()
        except retryable as err:
            if n == attempts - 1:
                raise Conflict("Too many concurrent changes; retry.") from err
            time.sleep(random.uniform(0, 0.02 * 2**n))  # noqa: S311 - jitter, not security
    raise AssertionError("unreachable")


def chunked[T](items: Iterable[T], size: int) -> list[list[T]]:
    out: list[list[T]] = []
    current: list[T] = []
    for item in items:
        current.append(item)
        if len(current) == size:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out
