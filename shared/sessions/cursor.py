"""The sync cursor: an opaque, versioned token naming a place in a user's change feed.

Clients pass it back unchanged. It is urlsafe base64 (no padding) of a small JSON object
`{"v": 1, "e": epoch, "s": seq, "id": sessionId}` (see `shared.sessions.models.Position` and
`Head`). Nothing in it depends on a server instance or deploy, so it survives both; a later
format bumps `v` and keeps reading `v: 1`.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import re

from shared.errors import InvalidArgument
from shared.sessions.models import START, Position

CURSOR_VERSION = 1
_ID = re.compile(r"^~?[A-Za-z0-9_-]{0,64}$")  # a document id (models.document_id) or ""
_MAX_INT = 2**63 - 1


@dataclasses.dataclass(frozen=True)
class Cursor:
    epoch: int
    position: Position


BEGINNING = Cursor(0, START)


def encode_cursor(cursor: Cursor) -> str:
    body = {"v": CURSOR_VERSION, "e": cursor.epoch, "s": cursor.position.seq}
    body["id"] = cursor.position.id  # type: ignore[assignment]  # mixed-type JSON object
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(token: str | None) -> Cursor:
    """The cursor a client sent (None: from the beginning); `InvalidArgument` for garbage."""
    if token is None:
        return BEGINNING
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _bad() from None
    if (
        not isinstance(body, dict)
        or body.get("v") != CURSOR_VERSION
        or set(body)
        != {
            "v",
            "e",
            "s",
            "id",
        }
    ):
        raise _bad()
    epoch, seq, sid = body["e"], body["s"], body["id"]
    if not (_count(epoch) and _count(seq) and isinstance(sid, str) and _ID.match(sid)):
        raise _bad()
    return Cursor(epoch, Position(seq, sid))


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_INT


def _bad() -> InvalidArgument:
    return InvalidArgument(
        "data.cursor: not a cursor this server issued; pass back the last `cursor` unchanged, "
        "or null to start over"
    )
