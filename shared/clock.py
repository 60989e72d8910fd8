"""Time: one clock seam and the wire format of timestamps (RFC 3339, UTC, milliseconds, `Z`)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time, aware, in UTC; services take it as a parameter so tests can fix it."""
    return datetime.now(UTC)


def to_millis(value: datetime) -> datetime:
    """Truncate to whole milliseconds: the precision every timestamp is kept at."""
    return value.replace(microsecond=value.microsecond - value.microsecond % 1000)


def format_timestamp(value: datetime) -> str:
    """`2026-11-22T09:00:00.000Z`; the year always four digits (`0005-...`), as RFC 3339 and
    `parse_timestamp` want it (strftime's `%Y` writes `5`)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def parse_timestamp(text: str) -> datetime:
    """Parse RFC 3339 with a `Z` or an explicit offset; naive times are refused."""
    if not isinstance(text, str) or len(text) > 40:
        raise ValueError("must be an RFC 3339 timestamp string")
    candidate = text.strip()
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    # Python's parser takes at most 6 fractional digits; RFC 3339 allows more (nanoseconds).
    if "." in candidate:
        head, _, tail = candidate.partition(".")
        digits = ""
        for ch in tail:
            if not ch.isdigit():
                break
            digits += ch
        candidate = f"{head}.{(digits[:6] or '0'):0<6}{tail[len(digits) :]}"
    if "T" not in candidate and "t" not in candidate:
        raise ValueError("must be an RFC 3339 timestamp (date 'T' time)")
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError as err:
        raise ValueError("must be an RFC 3339 timestamp") from err
    if parsed.tzinfo is None:
        raise ValueError("must carry a time zone offset or Z")
    try:
        return to_millis(parsed.astimezone(UTC))
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise ValueError("must be a time between years 1 and 9999 in UTC") from None
