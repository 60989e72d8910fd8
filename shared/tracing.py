"""Traces across the hops, with OpenTelemetry: one trace from a call to everything it caused.

callable -> Firestore commit -> Pub/Sub publish -> mirror consumer -> PostgreSQL, and
Cloud Tasks -> deliverPush -> FCM. The context travels in the places each hop carries:
HTTP headers into a function, Pub/Sub message attributes (`inject` in `shared.clients.publish`,
`server_span` over the message in the push handler) and Cloud Tasks request headers (injected
when a task is created). W3C `traceparent` and Google's `X-Cloud-Trace-Context` are both
written and read, so Cloud Run's own request spans join the same trace.

Every log line inside `server_span` carries the span's trace id (its caller puts the yielded
id into `logs.request_context`), so Cloud Logging shows a trace's logs beside its spans.

Settings (shared/settings.py): `trace_sample_ratio` of new traces are recorded (a caller's
decision is kept: parent-based sampling); spans go to Cloud Trace in production and, locally,
to `trace_file` as JSON lines (`focusctl trace show TRACE_ID` prints the tree). With neither,
or a ratio of 0, nothing here imports OpenTelemetry and every function is a no-op that costs a
settings lookup: the cold start pays for tracing only where it is on, and then only at the
first request.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer

_lock = threading.Lock()
_tracer: Tracer | None = None
_provider: TracerProvider | None = None
_configured_for: tuple[Any, ...] | None = None

TRACER_NAME = "focus"


def enabled() -> bool:
    from shared.settings import get_settings

    settings = get_settings()
    if settings.trace_sample_ratio <= 0:
        return False
    return bool(settings.trace_file) or settings.env == "production"


def _get_tracer() -> Tracer | None:
    """The process's tracer, built on first use; None while tracing is off."""
    global _tracer, _provider, _configured_for  # noqa: PLW0603 - one provider per process
    from shared.settings import get_settings

    if not enabled():
        return None
    settings = get_settings()
    key = (settings.trace_sample_ratio, settings.trace_file, settings.env, settings.project_id)
    if _tracer is not None and _configured_for == key:
        return _tracer
    with _lock:
        if _tracer is not None and _configured_for == key:
            return _tracer
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
        from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

        if _provider is not None:
            _provider.shutdown()
        resource = Resource.create({"service.name": "focus-backend"})
        provider = TracerProvider(
            sampler=ParentBased(TraceIdRatioBased(settings.trace_sample_ratio)),
            resource=resource,
        )
        processor: SpanProcessor
        if settings.trace_file:
            # Synchronous: a local run wants each span on disk when its request ends.
            exporter = cast("SpanExporter", JsonLinesExporter(Path(settings.trace_file)))
            processor = SimpleSpanProcessor(exporter)
        else:
            from opentelemetry.exporter.cloud_trace import CloudTraceSpanExporter

            cloud = CloudTraceSpanExporter(project_id=settings.project_id)  # type: ignore[no-untyped-call]
            processor = BatchSpanProcessor(cloud)
        provider.add_span_processor(processor)
        _provider, _configured_for = provider, key
        _tracer = provider.get_tracer(TRACER_NAME)
        return _tracer


def _propagator() -> Any:
    from opentelemetry.propagators.cloud_trace_propagator import CloudTraceFormatPropagator
    from opentelemetry.propagators.composite import CompositePropagator
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    # Google's header last: where both came in, they name the same trace (Cloud Run writes
    # both); where only one did, it is the one read.
    return CompositePropagator([TraceContextTextMapPropagator(), CloudTraceFormatPropagator()])


class Carrier(Protocol):
    """Request headers (any case) or Pub/Sub message attributes."""

    def items(self) -> Iterable[tuple[str, str]]: ...


def _extract(carrier: Carrier) -> Context:
    # Header names in any case; the propagators look up lower-case keys.
    lowered = {key.lower(): value for key, value in carrier.items()}
    context: Context = _propagator().extract(lowered)
    return context


@contextlib.contextmanager
def server_span(
    name: str,
    carrier: Carrier | None,
    fallback_trace: str | None = None,
    *,
    kind: str = "server",
    **attributes: Any,
) -> Iterator[str | None]:
    """A span for one incoming request or message, continuing the trace in `carrier`
    (headers or Pub/Sub attributes). Yields the trace id for the log lines: the span's, or
    `fallback_trace` while tracing is off."""
    tracer = _get_tracer()
    if tracer is None:
        yield fallback_trace
        return
    from opentelemetry import trace

    span_kind = trace.SpanKind.CONSUMER if kind == "consumer" else trace.SpanKind.SERVER
    context = _extract(carrier or {})
    with tracer.start_as_current_span(
        name, context=context, kind=span_kind, attributes=_clean(attributes)
    ) as span:
        yield format(span.get_span_context().trace_id, "032x")


@contextlib.contextmanager
def span(name: str, *, kind: str = "internal", **attributes: Any) -> Iterator[None]:
    """A child span of the current one; nothing at all while tracing is off."""
    tracer = _get_tracer()
    if tracer is None:
        yield
        return
    from opentelemetry import trace

    kinds = {
        "client": trace.SpanKind.CLIENT,
        "producer": trace.SpanKind.PRODUCER,
        "internal": trace.SpanKind.INTERNAL,
    }
    with tracer.start_as_current_span(name, kind=kinds[kind], attributes=_clean(attributes)):
        yield


def event(name: str, **attributes: Any) -> None:
    """Mark a moment (a Firestore commit) on the current span."""
    if _get_tracer() is None:
        return
    from opentelemetry import trace

    trace.get_current_span().add_event(name, attributes=_clean(attributes))


def inject(carrier: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Add the current span's context to outgoing headers or message attributes."""
    if _get_tracer() is None:
        return carrier
    from opentelemetry import trace

    if trace.get_current_span().get_span_context().is_valid:
        _propagator().inject(carrier)
    return carrier


def pubsub_attributes(body: bytes) -> dict[str, str]:
    """The attributes of a Pub/Sub push request's message ({} when it has none or is not one),
    read before the handler parses it so the whole request, its last log line included, is in
    the publisher's trace."""
    if not enabled():
        return {}
    try:
        attributes = json.loads(body or b"null")["message"]["attributes"]
    except (ValueError, TypeError, KeyError):
        return {}
    if not isinstance(attributes, dict):
        return {}
    return {str(k): str(v) for k, v in attributes.items()}


def _clean(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: v for k, v in attributes.items() if isinstance(v, str | bool | int | float) and v != ""
    }


def shutdown() -> None:
    """Flush and stop (tests, and processes that end)."""
    global _tracer, _provider, _configured_for  # noqa: PLW0603 - one provider per process
    with _lock:
        if _provider is not None:
            _provider.shutdown()
        _tracer = _provider = _configured_for = None


# --- Local: spans as JSON lines, and the tree of one trace ------------------------------------


class JsonLinesExporter:
    """A SpanExporter appending one JSON object per span to a file (one write per span, so
    several processes may share the file)."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def export(self, spans: Sequence[ReadableSpan]) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        self._path.parent.mkdir(parents=True, exist_ok=True)
        lines = "".join(json.dumps(span_record(s)) + "\n" for s in spans)
        with self._path.open("a", encoding="utf-8") as f:
            f.write(lines)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        del timeout_millis
        return True


def span_record(span: ReadableSpan) -> dict[str, Any]:
    context = span.get_span_context()
    assert context is not None
    parent = span.parent
    return {
        "traceId": format(context.trace_id, "032x"),
        "spanId": format(context.span_id, "016x"),
        "parentSpanId": format(parent.span_id, "016x") if parent is not None else None,
        "name": span.name,
        "kind": span.kind.name.lower(),
        "start": span.start_time,
        "end": span.end_time,
        "status": span.status.status_code.name,
        "attributes": dict(span.attributes or {}),
        "events": [{"name": e.name, "attributes": dict(e.attributes or {})} for e in span.events],
    }


def read_trace(path: Path, trace_id: str) -> list[dict[str, Any]]:
    """Every recorded span of one trace, from a JSON-lines file."""
    if not path.exists():
        return []
    spans = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if record.get("traceId") == trace_id:
                    spans.append(record)
    return spans


def render_tree(spans: Sequence[Mapping[str, Any]]) -> str:
    """The spans of one trace as an indented tree, children in start order."""
    ids = {s["spanId"] for s in spans}
    children: dict[str | None, list[Mapping[str, Any]]] = {}
    for s in spans:
        parent = s["parentSpanId"] if s["parentSpanId"] in ids else None
        children.setdefault(parent, []).append(s)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for s in sorted(children.get(parent, []), key=lambda x: x["start"] or 0):
            ms = ((s["end"] or s["start"]) - s["start"]) / 1e6 if s["start"] else 0.0
            attrs = " ".join(f"{k}={v}" for k, v in sorted(s["attributes"].items()))
            status = "" if s["status"] in ("UNSET", "OK") else f" [{s['status']}]"
            lines.append(f"{'  ' * depth}{s['name']} ({s['kind']}, {ms:.1f} ms){status} {attrs}")
            for e in s.get("events", []):
                eattrs = " ".join(f"{k}={v}" for k, v in sorted(e["attributes"].items()))
                lines.append(f"{'  ' * (depth + 1)}* {e['name']} {eattrs}".rstrip())
            walk(s["spanId"], depth + 1)

    walk(None, 0)
    return "\n".join(line.rstrip() for line in lines)
