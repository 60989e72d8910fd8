"""`exportAccount`: everything stored about a user, paged so no response nears 10 MB.

What is exported: the profile, the devices (API fields: never an FCM token), the schedules and the
live sessions (API fields; tombstones and server bookkeeping are not the user's data), and (added
2026-12) what Auth holds about the user and the push data derived from theirs
(shared/privacy/derived.py). The first page carries `user`, `devices`, `schedules`, `signIn`,
`pushPlans` and `pushLog`; every page carries sessions in document-id order after an opaque
cursor.

Size arithmetic (docs/PRIVACY.md has the long form). The callable protocol's response must stay
under 10 MiB. The SDK answers with Flask's `jsonify`: compact, `ensure_ascii`, so one character
costs at most 12 bytes (an astral character becomes a surrogate pair `\\ud83d\\ude00`). A maximal
session (500 blocked apps x 255 astral characters, a 120-character label, a 128-character device
id) encodes to about 1.54 MB. Each session's encoded size is measured as it is added: a page takes
sessions while their total stays within `SESSIONS_BUDGET_BYTES` (6 MiB) and their count within
`MAX_SESSIONS_PER_PAGE`, and on the first page within what the profile, devices and schedules
leave of `RESPONSE_LIMIT_BYTES` minus an envelope margin. A page is therefore at most 6 MiB of
sessions + the first-page part, and never more than the limit minus the margin. Sessions are read
from storage in chunks of at most `READ_CHUNK` documents, so memory stays bounded as well.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Protocol

from pydantic import Field

from shared.accounts.models import UserProfile
from shared.devices.models import Device
from shared.errors import FailedPrecondition, InvalidArgument
from shared.privacy.derived import (
    DerivedReader,
    ExportPushLogEntry,
    ExportPushPlan,
    ExportSignIn,
)
from shared.schedules.models import Day
from shared.sessions.models import Status
from shared.wire import Timestamp, WireModel, storable_text

RESPONSE_LIMIT_BYTES = 10 * 1024 * 1024  # the callable protocol's limit
ENVELOPE_MARGIN_BYTES = 64 * 1024  # {"result": ...}, headers, rounding
SESSIONS_BUDGET_BYTES = 6 * 1024 * 1024
MAX_SESSIONS_PER_PAGE = 1000
READ_CHUNK = 100  # sessions per storage read: bounds memory with maximal sessions (~0.5 MB each)
MAX_SCANNED_PER_PAGE = 5000  # bounds one call's work when long runs of tombstones are skipped
MAX_CURSOR_CHARS = 2048
_CURSOR_PREFIX = "x1."


# -- wire models -------------------------------------------------------------------------------


class ExportSchedule(WireModel):
    """A `Schedule` of the contract as stored."""

    id: str
    name: str
    timezone: str
    days: list[Day]
    start: str
    end: str
    blocked_apps: list[str]
    enabled: bool
    updated_at: Timestamp


class ExportSession(WireModel):
    """A `FocusSession` of the contract as stored."""

    id: str
    started_at: Timestamp
    planned_end_at: Timestamp | None
    ended_at: Timestamp | None
    status: Status
    label: str | None
    blocked_apps: list[str]
    schedule_id: str | None
    updated_at: Timestamp
    device_id: str


Cursor = Annotated[str, Field(min_length=1, max_length=MAX_CURSOR_CHARS)]


class ExportAccountRequest(WireModel):
    cursor: Cursor | None = None


class ExportAccountResult(WireModel):
    generated_at: Timestamp
    user: UserProfile | None
    devices: list[Device] | None
    schedules: list[ExportSchedule] | None
    sessions: list[ExportSession]
    cursor: str | None
    has_more: bool
    # Added 2026-12 (docs/API.md, "Export"): first page only, null on later pages.
    sign_in: ExportSignIn | None = None
    push_plans: list[ExportPushPlan] | None = None
    push_log: list[ExportPushLogEntry] | None = None


# -- storage -----------------------------------------------------------------------------------

# (document id, the session, or None for a tombstone), in document-id order.
ScannedSession = tuple[str, ExportSession | None]


class AccountReader(Protocol):
    """Read side of an export; Firestore today, PostgreSQL once reads move there."""

    def profile(self, uid: str) -> UserProfile | None: ...

    def devices(self, uid: str) -> list[Device]: ...

    def schedules(self, uid: str) -> list[ExportSchedule]: ...

    def sessions_after(self, uid: str, after: str | None, limit: int) -> list[ScannedSession]:
        """Up to `limit` sessions with an id byte-wise greater than `after`, by id, tombstones
        included (as None) so that the cursor moves past them."""


def session_from_stored(data: dict[str, Any], doc_id: str) -> ExportSession | None:
    """The export form of a stored session document; None for a tombstone. The session id is
    the `id` field (the document id may be escaped, see shared.sessions.models.document_id)."""
    if data.get("deleted") is True:
        return None
    return ExportSession(
        id=data.get("id", doc_id),
        started_at=data["startedAt"],
        planned_end_at=data.get("plannedEndAt"),
        ended_at=data.get("endedAt"),
        status=data["status"],
        label=data.get("label"),
        blocked_apps=list(data.get("blockedApps") or []),
        schedule_id=data.get("scheduleId"),
        updated_at=data["updatedAt"],
        device_id=data["deviceId"],
    )


def schedule_from_stored(data: dict[str, Any], doc_id: str) -> ExportSchedule:
    return ExportSchedule(
        id=data.get("id", doc_id),
        name=data["name"],
        timezone=data["timezone"],
        days=list(data.get("days") or []),
        start=data["start"],
        end=data["end"],
        blocked_apps=list(data.get("blockedApps") or []),
        enabled=bool(data.get("enabled")),
        updated_at=data["updatedAt"],
    )


# -- cursor ------------------------------------------------------------------------------------


def encode_cursor(after: str | None) -> str:
    """A cursor resuming after session `after` (None: from the first session, on a later page)."""
    raw = json.dumps({"after": after}, separators=(",", ":")).encode()
    return _CURSOR_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> str | None:
    """The session id a cursor resumes after (None: the first), or `InvalidArgument`."""
    bad = InvalidArgument("data.cursor: not a cursor returned by exportAccount")
    if not cursor.startswith(_CURSOR_PREFIX):
        raise bad
    body = cursor.removeprefix(_CURSOR_PREFIX)
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        value = json.loads(raw.decode("utf-8"))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad from None
    if not isinstance(value, dict) or set(value) != {"after"}:
        raise bad
    after = value["after"]
    if after is None:
        return None
    if not isinstance(after, str) or not after or len(after) > 1500 or "/" in after:
        raise bad
    try:
        storable_text(after)
    except ValueError:
        raise bad from None
    return after


# -- paging (pure) -----------------------------------------------------------------------------


def encoded_size(value: Any) -> int:
    """Bytes of `value` as the callable SDK encodes responses (compact JSON, ASCII escapes)."""
    return len(json.dumps(value, ensure_ascii=True, separators=(",", ":")))


@dataclasses.dataclass
class PageBuilder:
    """Takes scanned sessions in order until the page is full; tracks the resume point."""

    budget_bytes: int
    max_sessions: int = MAX_SESSIONS_PER_PAGE
    sessions: list[ExportSession] = dataclasses.field(default_factory=list)
    size: int = 0
    last_id: str | None = None  # everything up to here is exported or skipped
    scanned: int = 0
    full: bool = False

    def offer(self, chunk: Sequence[ScannedSession]) -> None:
        """Consume `chunk` until the page is full (`full` then tells there is more)."""
        for session_id, session in chunk:
            if session is None:
                self.last_id = session_id
                self.scanned += 1
                continue
            size = encoded_size(session.to_wire()) + 1  # and a comma
            if len(self.sessions) >= self.max_sessions or self.size + size > self.budget_bytes:
                self.full = True
                return
            self.sessions.append(session)
            self.size += size
            self.last_id = session_id
            self.scanned += 1

    @property
    def capacity(self) -> int:
        return self.max_sessions - len(self.sessions)


def first_page_budget(fixed_bytes: int) -> int:
    """Bytes left for sessions on the first page, after user, devices and schedules."""
    room = RESPONSE_LIMIT_BYTES - ENVELOPE_MARGIN_BYTES - fixed_bytes
    if room < 0:
        # Only possible with adversarial content (dozens of schedules of 500 blocked apps of
        # 255 astral characters each); the contract has no page for schedules. Refuse plainly
        # rather than let the platform fail the response.
        raise FailedPrecondition(
            "This account's schedules are too large to export in one response; "
            "shorten some schedules and retry."
        )
    return min(SESSIONS_BUDGET_BYTES, room)


def export_account(
    reader: AccountReader,
    uid: str,
    request: ExportAccountRequest,
    now: datetime,
    derived: DerivedReader | None = None,
) -> ExportAccountResult:
    """One page of the export; `derived` adds Auth's record and the push data on the first."""
    after = decode_cursor(request.cursor) if request.cursor is not None else None
    first = request.cursor is None
    user: UserProfile | None = None
    devices: list[Device] | None = None
    schedules: list[ExportSchedule] | None = None
    budget = SESSIONS_BUDGET_BYTES
    sign_in: ExportSignIn | None = None
    push_plans: list[ExportPushPlan] | None = None
    push_log: list[ExportPushLogEntry] | None = None
    if first:
        user = reader.profile(uid)
        devices = reader.devices(uid)
        schedules = reader.schedules(uid)
        if derived is not None:
            sign_in = derived.sign_in(uid)
            push_plans = derived.push_plans(uid)
            push_log = derived.push_log(uid)
        fixed = encoded_size(
            {
                "user": user.to_wire() if user else None,
                "devices": [d.to_wire() for d in devices],
                "schedules": [s.to_wire() for s in schedules],
                "signIn": sign_in.to_wire() if sign_in else None,
                "pushPlans": [p.to_wire() for p in push_plans or []],
                "pushLog": [e.to_wire() for e in push_log or []],
            }
        )
        budget = first_page_budget(fixed)

    page = PageBuilder(budget_bytes=budget)
    page.last_id = after
    exhausted = False
    while not page.full and page.scanned < MAX_SCANNED_PER_PAGE:
        # One more than the page can take, so a full page knows whether anything follows.
        limit = min(READ_CHUNK, page.capacity + 1)
        chunk = reader.sessions_after(uid, page.last_id, limit)
        page.offer(chunk)
        if len(chunk) < limit:
            exhausted = not page.full
            break
    has_more = not exhausted
    return ExportAccountResult(
        generated_at=now,
        user=user,
        devices=devices,
        schedules=schedules,
        sessions=page.sessions,
        cursor=encode_cursor(page.last_id) if has_more else None,
        has_more=has_more,
        sign_in=sign_in,
        push_plans=push_plans,
        push_log=push_log,
    )
