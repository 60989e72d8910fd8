"""The one counting seam for billed Firestore operations.

Firestore bills per document read, write and delete. Repositories report every operation here
(`count_reads`, `count_writes`, `count_deletes`) at the place they call Firestore; a callable
logs the totals of each call, and tests and benchmarks read them through `metered()`.

Billing rules encoded by callers: a query bills one read per returned document and one read when
it returns none; `get_all` bills one read per requested document, found or not; each `set`,
`update` and `delete` in a committed batch or transaction bills one write (deletes are listed
apart but cost a write).
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from collections.abc import Iterator


@dataclasses.dataclass
class OpCount:
    """Billed operations seen inside one `metered()` block."""

    reads: int = 0
    writes: int = 0
    deletes: int = 0

    @property
    def billed_writes(self) -> int:
        return self.writes + self.deletes

    def as_dict(self) -> dict[str, int]:
        return {"reads": self.reads, "writes": self.writes, "deletes": self.deletes}


_current: contextvars.ContextVar[tuple[OpCount, ...]] = contextvars.ContextVar(
    "firestore_op_counts", default=()
)


@contextlib.contextmanager
def metered() -> Iterator[OpCount]:
    """Count the Firestore operations done inside the block (nested blocks all see them)."""
    count = OpCount()
    token = _current.set((*_current.get(), count))
    try:
        yield count
    finally:
        _current.reset(token)


def count_reads(n: int) -> None:
    for count in _current.get():
        count.reads += n


def count_query_reads(returned: int) -> None:
    """A query bills one read per document returned, and one when it returns none."""
    count_reads(max(returned, 1))


def count_writes(n: int) -> None:
    for count in _current.get():
        count.writes += n


def count_deletes(n: int) -> None:
    for count in _current.get():
        count.deletes += n
