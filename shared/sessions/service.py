"""`syncFocusSessions` and the tombstone purge: pure decisions around a `SessionStore`.

A sync call (docs/SYNC.md has the whole design):
1. rejects incoherent mutations (a pure function of each mutation, so a replay is rejected
   again identically) and groups the others by session;
2. lets the store read the touched sessions and the feed head at once, folds each session's
   mutations into the newest version (`models.newest`), and has the store commit only the
   sessions whose stored version changes, as one feed sequence;
3. reads the feed from the caller's cursor, and answers.
Idempotency needs no record per mutation: a replayed mutation is never newer than what it
already produced, so it changes nothing and is reported in `applied` again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from shared.sessions.cursor import Cursor, decode_cursor, encode_cursor
from shared.sessions.feed import assemble, plan_read, start_position
from shared.sessions.models import (
    INCOHERENT,
    Head,
    Mutation,
    Rejection,
    SessionVersion,
    Stored,
    SyncFocusSessionsRequest,
    SyncFocusSessionsResult,
    Tombstone,
    as_change,
    compare,
    incoherence,
    mutation_version,
    newest,
    same_version,
)
from shared.sessions.repository import Applied, PurgeOutcome, SessionStore

if TYPE_CHECKING:
    from shared.accounts.deletion import DeletionGuard

# One commit holds at most 500 writes (one is the feed head) and 10 MiB; sessions are grouped
# well inside both. A session document is at most ~130 KB (500 apps of 255 chars).
MAX_SESSIONS_PER_COMMIT = 499
MAX_BYTES_PER_COMMIT = 8 * 1024 * 1024
# Answers stay well under the callable response limit (32 MB) even with maximal sessions
# (~130 KB each): a page ends early, with `hasMore`, rather than failing for ever.
MAX_ANSWER_BYTES = 8 * 1024 * 1024
# A purge run stops after this long, well inside a push subscription's ack deadline (60 s
# locally; longer runs would be redelivered while still running), and continues in a new run.
PURGE_BUDGET_S = 40.0


class NotifyOtherDevices(Protocol):
    def __call__(self, uid: str, device_id: str) -> None:
        """Wake the user's devices other than `device_id` (a coalesced silent "sync" push)."""


def notify_nobody(uid: str, device_id: str) -> None:
    """The default until the push capability provides the real notifier."""


@dataclasses.dataclass(frozen=True)
class MutationPlan:
    """The coherent mutations grouped by session, and the per-mutation outcome lists."""

    applied: list[str]
    rejected: list[Rejection]
    by_session: dict[str, list[SessionVersion]]
    sizes: dict[str, int]  # an upper bound of each session's document size, in bytes


def plan_mutations(request: SyncFocusSessionsRequest) -> MutationPlan:
    applied: list[str] = []
    rejected: list[Rejection] = []
    by_session: dict[str, list[SessionVersion]] = {}
    sizes: dict[str, int] = {}
    for mutation in request.mutations:
        problem = incoherence(mutation.session) if mutation.session is not None else None
        if problem is not None:
            rejected.append(
                Rejection(mutation_id=mutation.mutation_id, code=INCOHERENT, message=problem)
            )
            continue
        applied.append(mutation.mutation_id)
        sid = mutation.session_id
        by_session.setdefault(sid, []).append(mutation_version(mutation, request.device_id))
        sizes[sid] = max(sizes.get(sid, 0), _size(mutation))
    return MutationPlan(applied, rejected, by_session, sizes)


def _size(mutation: Mutation) -> int:
    """An upper estimate of the stored document's size, in bytes."""
    session = mutation.session
    if session is None:
        return 512
    apps = sum(len(app.encode()) + 8 for app in session.blocked_apps)
    text = len(session.device_id.encode()) + len((session.label or "").encode())
    return 1024 + apps + text


def answer_size(stored: Stored) -> int:
    """An upper estimate of a change's JSON size, without serialising it."""
    version = stored.version
    if isinstance(version, Tombstone):
        return 256
    apps = sum(len(app) + 3 for app in version.blocked_apps)
    return 512 + len(version.device_id) + len(version.label or "") + apps


def commit_groups(sizes: Mapping[str, int]) -> list[list[str]]:
    """Sessions split into groups that each fit one commit (almost always a single group)."""
    groups: list[list[str]] = []
    current: list[str] = []
    used = 0
    for sid, size in sizes.items():
        if current and (
            len(current) == MAX_SESSIONS_PER_COMMIT or used + size > MAX_BYTES_PER_COMMIT
        ):
            groups.append(current)
            current, used = [], 0
        current.append(sid)
        used += size
    if current:
        groups.append(current)
    return groups


def decide_writes(
    by_session: Mapping[str, Sequence[SessionVersion]],
) -> Callable[[Mapping[str, SessionVersion | None]], dict[str, SessionVersion]]:
    """The pure write decision: per session, the newest of the stored version and the proposed
    ones, written only when it is not the stored one."""

    def decide(current: Mapping[str, SessionVersion | None]) -> dict[str, SessionVersion]:
        writes: dict[str, SessionVersion] = {}
        for sid, stored in current.items():
            winner = newest([stored, *by_session[sid]])
            if winner is not None and not same_version(winner, stored):
                writes[sid] = winner
        return writes

    return decide


def losing_sessions(
    by_session: Mapping[str, Sequence[SessionVersion]], after: Mapping[str, Stored | None]
) -> list[Stored]:
    """Current state of each session for which some mutation lost (older than what is kept)."""
    out: list[Stored] = []
    for sid, proposed in by_session.items():
        state = after.get(sid)
        if state is None:
            continue
        if any(compare(v, state.version) < 0 for v in proposed):
            out.append(state)
    return out


@dataclasses.dataclass(frozen=True)
class _Pushed:
    applied: list[Applied]

    @property
    def written(self) -> bool:
        return any(a.written for a in self.applied)


def _feed_bounds(pushed: _Pushed, head: Head) -> tuple[Head, int, list[Stored]]:
    """(head to answer with, upper seq of the query, our sessions known without reading)."""
    writers = [a for a in pushed.applied if a.written]
    if len(writers) == 1:
        only = writers[0]
        ours = [s for sid in only.written if (s := only.after[sid]) is not None]
        return only.head, only.base.seq, ours
    if writers:
        return writers[-1].head, writers[-1].head.seq, []
    return head, head.seq, []


def sync_focus_sessions(
    store: SessionStore,
    uid: str,
    request: SyncFocusSessionsRequest,
    *,
    notify_other_devices: NotifyOtherDevices = notify_nobody,
    guard: DeletionGuard | None = None,
) -> SyncFocusSessionsResult:
    """Push the caller's mutations, pull what changed since its cursor; idempotent.

    `guard` (the deleted-account check) is applied by the store's first read: the first
    commit group's, or the head's of a pull, before anything is decided."""
    cursor: Cursor = decode_cursor(request.cursor)
    plan = plan_mutations(request)

    pushed = _Pushed([])
    extras: list[Stored] = []
    if plan.by_session:
        for group in commit_groups(plan.sizes):
            mine = {sid: plan.by_session[sid] for sid in group}
            applied = store.apply(uid, group, decide_writes(mine), guard)
            pushed.applied.append(applied)
            extras += losing_sessions(mine, applied.after)
        head = pushed.applied[-1].head
    else:
        head = store.head(uid, guard)

    answer_head, upto, ours = _feed_bounds(pushed, head)
    start = start_position(cursor, answer_head, upto)
    budget = request.limit - len(extras)
    read = plan_read(start, upto, budget)
    rows = store.changes(uid, read.start, read.upto, read.fetch) if read.fetch else []
    answer = assemble(read, rows, ours, extras, budget, answer_size, MAX_ANSWER_BYTES)

    if pushed.written:
        try:
            notify_other_devices(uid, request.device_id)
        except Exception:
            # Committed and published: a missed wake-up must not fail the sync (the other
            # devices sync at their next start or push anyway).
            from shared import logs

            logs.get_logger("sessions.sync").exception("notify_other_devices failed")
    return SyncFocusSessionsResult(
        applied=plan.applied,
        rejected=plan.rejected,
        changes=[as_change(s.version) for s in answer.changes],
        cursor=encode_cursor(Cursor(answer_head.epoch, answer.position)),
        has_more=answer.has_more,
    )


def purge_tombstones(store: SessionStore, now: datetime, budget_s: float) -> PurgeOutcome:
    """Delete tombstones older than the retention (API.md: kept at least 30 days)."""
    return store.purge_expired(now, budget_s)
