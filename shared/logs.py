"""Structured logs that Cloud Logging understands: one JSON object per line on stdout.

Each entry carries `severity`, `message`, the request's trace
(`logging.googleapis.com/trace`, taken from `X-Cloud-Trace-Context` or `traceparent`) and any
structured fields passed as `extra={"fields": {...}}`. No `print` anywhere else.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
import threading
import traceback
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol


class _Headers(Protocol):
    def get(self, key: str) -> str | None: ...


_trace: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace", default=None)
_labels: contextvars.ContextVar[Mapping[str, Any] | None] = contextvars.ContextVar(
    "labels", default=None
)
_configured = False
_configure_lock = threading.Lock()

_SEVERITY = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARNING",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "CRITICAL",
}


# A trace id is 32 lowercase hex digits, not all zero (W3C trace context; Google's header uses
# the same ids). The headers come from the client: anything else (a forged path, a uid, a very
# long string) would otherwise become the entry's trace name, so it is ignored instead.
_TRACE_ID = re.compile(r"(?!0{32})[0-9a-f]{32}")


def trace_id_from_headers(headers: _Headers) -> str | None:
    """The trace id of an incoming request, from Google's or the W3C header; None when neither
    holds a well-formed one."""
    cloud = headers.get("X-Cloud-Trace-Context")
    if cloud:
        trace = cloud.split("/", 1)[0].strip().lower()
        if _TRACE_ID.fullmatch(trace):
            return trace
    parent = headers.get("traceparent")
    if parent:
        parts = parent.split("-")
        if len(parts) >= 3 and _TRACE_ID.fullmatch(parts[1]):
            return parts[1]
    return None


class JsonFormatter(logging.Formatter):
    """Formats a record as the JSON shape Cloud Logging parses from stdout."""

    def __init__(self, project_id: str) -> None:
        super().__init__()
        self.project_id = project_id

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": _SEVERITY.get(record.levelno, "DEFAULT"),
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "logger": record.name,
        }
        trace = _trace.get()
        if trace:
            entry["logging.googleapis.com/trace"] = f"projects/{self.project_id}/traces/{trace}"
        labels = _labels.get()
        if labels:
            entry["logging.googleapis.com/labels"] = {k: str(v) for k, v in labels.items()}
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            entry.update(fields)
        if record.exc_info:
            entry["stack_trace"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(entry, default=str)


def configure(project_id: str | None = None, level: int = logging.INFO) -> None:
    """Route the root logger to stdout as JSON; idempotent."""
    global _configured  # noqa: PLW0603 - one process-wide switch
    if _configured:
        return
    with _configure_lock:  # concurrent first requests: one of them configures
        if _configured:
            return
        if project_id is None:
            from shared.settings import get_settings

            project_id = get_settings().project_id
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter(project_id))
        root = logging.getLogger()
        root.handlers[:] = [handler]
        root.setLevel(level)
        _configured = True


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)


@contextlib.contextmanager
def request_context(trace: str | None, **labels: Any) -> Iterator[None]:
    """Attach a trace id and labels to every entry logged inside the block."""
    trace_token = _trace.set(trace)
    labels_token = _labels.set({**(_labels.get() or {}), **labels})
    try:
        yield
    finally:
        _trace.reset(trace_token)
        _labels.reset(labels_token)
