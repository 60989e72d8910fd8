"""A device's record of the silent pushes sent to it, and the decisions made from it (pure).

The record is the `pushLog` field of the device document: a short list of
`{k: delivery key, t: when claimed, c: "schedule" | "sync"}`, newest last, bounded in age and
length. It serves two purposes:

- Idempotency. A push is *claimed* (written to the record, with a precondition on the device
  document) before it is sent, and released again if sending fails in a way that will be
  retried. A redelivered or duplicated task finds its key and sends nothing, and two concurrent
  deliveries cannot both claim. The cost of this at-most-once choice: a process that dies
  between the claim and the send loses that device's push (see docs/PUSH.md).
- Budget. iOS delivers at most a few background pushes an hour per device and throttles apps
  that send more; the record tells how many went out in the last hour.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from shared.push.planning import PushKind

LOG_FIELD = "pushLog"
LOG_RETENTION = timedelta(hours=6)  # longer than any retry of a task (max backoff 5 min x 8)
LOG_MAX_ENTRIES = 24
BUDGET_WINDOW = timedelta(hours=1)
IOS_BACKGROUND_BUDGET = 3  # silent pushes per device per rolling hour (API.md)

Platform = Literal["ios", "android"]


@dataclasses.dataclass(frozen=True)
class LogEntry:
    key: str
    at: datetime
    kind: PushKind


def parse_log(raw: object) -> list[LogEntry]:
    """The record from the stored field; malformed entries are ignored."""
    entries: list[LogEntry] = []
    if not isinstance(raw, list):
        return entries
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        key, at, kind = item.get("k"), item.get("t"), item.get("c")
        if isinstance(key, str) and isinstance(at, datetime) and kind in ("schedule", "sync"):
            entries.append(LogEntry(key, at, kind))
    return entries


def log_to_field(entries: Iterable[LogEntry]) -> list[dict[str, Any]]:
    return [{"k": e.key, "t": e.at, "c": e.kind} for e in entries]


def served(entries: Iterable[LogEntry], key: str) -> bool:
    return any(e.key == key for e in entries)


def with_claim(
    entries: Sequence[LogEntry], key: str, kind: PushKind, now: datetime
) -> list[LogEntry]:
    """The record with `key` claimed at `now`, pruned by age and length (oldest go first)."""
    kept = [e for e in entries if now - e.at < LOG_RETENTION and e.key != key]
    kept.append(LogEntry(key, now, kind))
    kept.sort(key=lambda e: e.at)
    return kept[-LOG_MAX_ENTRIES:]


def without_claim(entries: Sequence[LogEntry], key: str) -> list[LogEntry]:
    return [e for e in entries if e.key != key]


def sent_within(entries: Iterable[LogEntry], now: datetime, window: timedelta) -> int:
    return sum(1 for e in entries if now - window < e.at <= now)


def sync_allowed(
    platform: str, entries: Sequence[LogEntry], now: datetime, reserved_for_schedules: int
) -> bool:
    """May a sync push go to this device now without eating the budget of schedule pushes?

    Android has no such budget (data messages are not throttled this way). On iOS, counting
    conservatively: what went out in the last hour, plus the schedule pushes that may go out in
    the next hour, plus this one, must fit in the hourly budget. Schedule pushes themselves are
    never held back by the budget.
    """
    if platform != "ios":
        return True
    recent = sent_within(entries, now, BUDGET_WINDOW)
    return recent + reserved_for_schedules + 1 <= IOS_BACKGROUND_BUDGET
