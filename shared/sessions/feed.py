"""Pure planning of the pull half of a sync: which feed range to read, and the answer it makes.

The feed of a user is every stored session ordered by `Position` (seq, id). A client's cursor
says "everything up to here was delivered". A sync reads the feed from the cursor up to the head
it saw (`upto`), and adds two things it knows without reading:
- `ours`: the sessions this very call committed, when it committed exactly once right after
  `upto` (their positions are `upto + 1`), so the caller's own writes are not read back;
- `extras`: the winning version of every session for which the caller sent a losing mutation
  (API.md: "the winning version is in the changes of that same answer").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from shared.sessions.cursor import Cursor
from shared.sessions.models import START, Head, Position, Stored


@dataclasses.dataclass(frozen=True)
class FeedRead:
    """The query to run: sessions with `start < position` and `seq <= upto`, at most `fetch`
    of them (`fetch == 0`: no query is needed)."""

    start: Position
    upto: int
    fetch: int


def start_position(cursor: Cursor, head: Head, upto: int) -> Position:
    """Where to read from. A cursor of another feed (the account's feed was erased and created
    again) or one beyond anything committed (not issued by us) reads from the beginning."""
    position = cursor.position
    if cursor.epoch != head.epoch or position > Position(upto + 1, ""):
        return START
    return position


def plan_read(start: Position, upto: int, budget: int) -> FeedRead:
    """One more row than the budget tells whether more remain (`hasMore`) at the cost of one
    read, cheaper than a second call."""
    if budget <= 0 or upto <= 0 or start >= Position(upto + 1, ""):
        return FeedRead(start, upto, 0)
    return FeedRead(start, upto, budget + 1)


@dataclasses.dataclass(frozen=True)
class Answer:
    changes: list[Stored]  # oldest first, one per session
    position: Position  # the new cursor's position
    has_more: bool


def _no_size(_stored: Stored) -> int:
    return 0


def assemble(
    read: FeedRead,
    rows: Sequence[Stored],
    ours: Sequence[Stored],
    extras: Sequence[Stored],
    budget: int,
    size: Callable[[Stored], int] = _no_size,
    max_bytes: int = 0,
) -> Answer:
    """The changes of the answer and the next cursor position.

    `rows` is what the query returned (sorted by position); `ours` are at `read.upto + 1`.
    `budget` is what `limit` leaves after the extras. With `max_bytes`, the answer also stops
    before its estimated size (`size` per session) passes it, keeping at least one session.
    """
    if budget <= 0:
        end = Position(read.upto + (2 if ours else 1), "")
        return Answer(_merge([], extras), read.start, read.start < end)
    drained = len(rows) <= budget  # the query range holds nothing beyond `rows`
    mine = sorted(ours, key=lambda s: s.position)
    feed = list(rows[:budget])
    if drained:
        feed += mine[: budget - len(rows)]
    complete = drained and len(feed) == len(rows) + len(mine)
    kept: list[Stored] = []
    used = sum(size(s) for s in extras)
    for stored in feed:
        if max_bytes and (kept or extras) and used + size(stored) > max_bytes:
            complete = False
            break
        kept.append(stored)
        used += size(stored)
    after_rows = max(Position(read.upto + 1, ""), read.start)
    if complete:
        end = Position(read.upto + (2 if mine else 1), "")
        return Answer(_merge(kept, extras), max(end, read.start), False)
    if drained and len(kept) == len(rows):
        position = after_rows  # every row up to `upto` is delivered; none of ours
    elif kept:
        position = kept[-1].position
    else:
        position = read.start
    return Answer(_merge(kept, extras), position, True)


def _merge(page: Sequence[Stored], extras: Sequence[Stored]) -> list[Stored]:
    """One entry per session (the later position wins), oldest first."""
    by_id: dict[str, Stored] = {}
    for stored in [*extras, *page]:
        current = by_id.get(stored.position.id)
        if current is None or stored.position > current.position:
            by_id[stored.position.id] = stored
    return sorted(by_id.values(), key=lambda s: s.position)
