"""Local stand-in for FCM's HTTP v1 API; like a mail catcher, it keeps what it was sent.

FCM has no emulator. firebase-admin reaches this server through `shared.fcm_endpoint`
(`point_messaging_at(base_url(port))`). Run it with `python -m devstack.fcm_standin --port N`;
it listens on 127.0.0.1 only and stops on SIGTERM or SIGINT.

Endpoints:

- `POST /v1/projects/{project}/messages:send`, body `{"message": {...}, "validate_only"?: bool}`.
  The message is checked the way FCM checks it where that is cheap: no unknown fields, exactly
  one target among `token`, `fid`, `topic` and `condition`, string values in every `data` and
  `headers` map, well-formed `notification`, `android`, `apns`, `webpush` and `fcm_options`
  objects, `data` within FCM's 4096-byte limit. A bad message gets 400 INVALID_ARGUMENT in
  FCM's error shape (`error.details` holds a `google.firebase.fcm.v1.FcmError`, which is what
  firebase-admin reads). A good one gets `{"name": "projects/{project}/messages/<id>"}`, or
  `.../messages/fake_message_id` for `validate_only`, as FCM answers a dry run.
  A token (or fid) chooses a failure, to test how the caller handles it:
  `unregistered-...` -> 404 NOT_FOUND / UNREGISTERED (exactly FCM's answer for a token of an
  uninstalled app), `quota-...` -> 429 RESOURCE_EXHAUSTED / QUOTA_EXCEEDED,
  `unavailable-...` -> 503 UNAVAILABLE, `invalid-...` -> 400 INVALID_ARGUMENT.
  No `Retry-After` header is sent (FCM does not always send one). Authorization is not checked:
  firebase-admin with anonymous credentials sends none.
- `GET /messages`: every request body received and parsed as a JSON object, in arrival order,
  exactly as received (objects with a `message` key), whatever the answer was, except
  `validate_only` requests (a dry run delivers nothing). `GET /messages?accepted=true` lists
  only the bodies answered 200: what devices would have received.
- `GET /requests`: the same record with the answer, `[{"project", "status", "body"}]`.
  firebase-admin retries a 503 four times (about 7 s of backoff) and each attempt is recorded.
- `DELETE /messages`: clears the record.
- `GET /healthz`: 200 once the server is up.
- `GET /connections`: connections accepted so far, by protocol (`{"http/1.1": n, "h2c": m}`).
- `GET /cpu`: CPU seconds the stand-in's process has used so far (`{"seconds": s}`), so the push
  benchmark can tell the stand-in's share of a run from the sender's.

Bodies that are not a JSON object are answered 400 and not recorded.

Over 400 lines: a whole stand-in server (the send endpoint with FCM's checks and failures, the
record) in one file that runs on its own.
Protocols: HTTP/1.1 (firebase-admin's `send` and `send_each`, and every tool), and HTTP/2 over
cleartext with prior knowledge (h2c: a connection that opens with HTTP/2's preface), which is
what an HTTP/2 client sends to an `http://` URL (`shared/push/h2_sender.py`). Over h2c only
`messages:send` is served, up to 100 concurrent streams per connection, as FCM allows.

`--latency-ms N` (default 0, which the tests and `make dev` use) answers each `messages:send`
N ms after it arrived, over either protocol, to model FCM's round trip in the push benchmark
(docs/BENCHMARKS.md states the value it used): an HTTP/1.1 connection waits, an HTTP/2
connection keeps serving its other streams meanwhile.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import itertools
import json
import re
import select
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

HOST = "127.0.0.1"
DATA_LIMIT_BYTES = 4096  # FCM's limit on a data message's payload

_FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
_BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
_SEND_PATH = re.compile(r"^/v1/projects/(?P<project>[^/]+)/messages:send$")
_TOPIC = re.compile(r"^(/topics/)?[a-zA-Z0-9\-_.~%]+$")
_DURATION = re.compile(r"^\d+(\.\d{1,9})?s$")
_ANALYTICS_LABEL = re.compile(r"^[a-zA-Z0-9\-_.~%]{1,50}$")


def command(python: str, port: int, latency_ms: float = 0.0) -> list[str]:
    """The argv that starts the stand-in in the foreground on `port`, answering each
    `messages:send` `latency_ms` after it arrived (0: at once, as the tests want)."""
    argv = [python, "-m", "devstack.fcm_standin", "--port", str(port)]
    return argv + (["--latency-ms", f"{latency_ms:g}"] if latency_ms else [])


def base_url(port: int) -> str:
    """The root URL to hand to `shared.fcm_endpoint.point_messaging_at`."""
    return f"http://{HOST}:{port}"


def health_url(port: int) -> str:
    """Answers 200 once the stand-in listens."""
    return f"{base_url(port)}/healthz"


# --- The answers: pure, no I/O -------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """An HTTP status with its JSON body."""

    status: int
    body: dict[str, Any]


def error_answer(
    code: int, status: str, message: str, fcm_code: str | None, field: str | None = None
) -> Answer:
    """An error in the shape Google APIs (and so FCM) use."""
    details: list[dict[str, Any]] = []
    if fcm_code is not None:
        details.append({"@type": _FCM_ERROR_TYPE, "errorCode": fcm_code})
    if field is not None:
        details.append(
            {
                "@type": _BAD_REQUEST_TYPE,
                "fieldViolations": [{"field": field, "description": message}],
            }
        )
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = details
    return Answer(code, {"error": error})


def invalid(message: str, field: str | None = None) -> Answer:
    return error_answer(400, "INVALID_ARGUMENT", message, "INVALID_ARGUMENT", field)


# Failures chosen by the token's prefix, answered as FCM answers them.
_TOKEN_FAILURES: dict[str, Answer] = {
    "unregistered-": error_answer(
        404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED"
    ),
    "quota-": error_answer(
        429,
        "RESOURCE_EXHAUSTED",
        "Quota exceeded for quota metric 'Messages sent' and limit 'Messages sent per minute'.",
        "QUOTA_EXCEEDED",
    ),
    "unavailable-": error_answer(
        503, "UNAVAILABLE", "The service is currently unavailable.", "UNAVAILABLE"
    ),
    "invalid-": invalid(
        "The registration token is not a valid FCM registration token", "message.token"
    ),
}


# Message ids: unique per run and per message, like FCM's, without a uuid4 per answer.
_RUN = uuid.uuid4().hex[:12]
_MESSAGE_IDS = itertools.count(1)


def answer_send(project: str, body: object) -> Answer:
    """FCM's answer to one `messages:send` request body."""
    problem = check_request(body)
    if problem is not None:
        return invalid(problem.description, problem.field or None)
    request = cast(dict[str, Any], body)
    message = cast(dict[str, Any], request["message"])
    target = message.get("token") or message.get("fid")
    if isinstance(target, str):
        for prefix, failure in _TOKEN_FAILURES.items():
            if target.startswith(prefix):
                return failure
    if is_dry_run(request):
        return Answer(200, {"name": f"projects/{project}/messages/fake_message_id"})
    return Answer(200, {"name": f"projects/{project}/messages/0:{_RUN}{next(_MESSAGE_IDS)}"})


def is_dry_run(body: Mapping[str, Any]) -> bool:
    """True for a `validate_only` request (FCM validates it and delivers nothing)."""
    return _fields(body).get("validate_only") is True


@dataclass(frozen=True)
class Problem:
    """Why a request is invalid, and where."""

    field: str
    description: str


_MESSAGE_FIELDS = {
    "name",
    "data",
    "notification",
    "android",
    "webpush",
    "apns",
    "fcm_options",
    "token",
    "fid",
    "topic",
    "condition",
}
_TARGETS = ("token", "fid", "topic", "condition")
_NOTIFICATION_FIELDS = {"title", "body", "image"}
_ANDROID_FIELDS = {
    "collapse_key",
    "priority",
    "ttl",
    "restricted_package_name",
    "data",
    "notification",
    "fcm_options",
    "direct_boot_ok",
    "bandwidth_constrained_ok",
    "restricted_satellite_ok",
}
_APNS_FIELDS = {"headers", "payload", "fcm_options", "live_activity_token"}
_WEBPUSH_FIELDS = {"headers", "data", "notification", "fcm_options"}
_APNS_PRIORITIES = {"1", "5", "10"}
_APNS_PUSH_TYPES = {
    "alert",
    "background",
    "location",
    "voip",
    "complication",
    "fileprovider",
    "mdm",
    "liveactivity",
    "pushtotalk",
    "widgets",
    "controls",
}
# FCM refuses these data keys (they collide with its own payload keys).
_RESERVED_DATA_KEYS = {"from", "message_type"}
_RESERVED_DATA_PREFIXES = ("google", "gcm")


_SNAKE: dict[str, str] = {}  # field names seen so far: a handful, the same in every request


def _snake(name: str) -> str:
    """Proto JSON accepts lowerCamelCase and the original snake_case field names alike."""
    snake = _SNAKE.get(name)
    if snake is None:
        snake = re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), name)
        if len(_SNAKE) < 10_000:  # a bound against odd clients
            _SNAKE[name] = snake
    return snake


def _fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    return {_snake(key): value for key, value in obj.items()}


def _unknown(obj: Mapping[str, Any], known: Iterable[str], at: str) -> Problem | None:
    for key in obj:
        if _snake(key) not in known:
            return Problem(
                at,
                f"Invalid JSON payload received. Unknown name \"{key}\" at '{at}': "
                "Cannot find field.",
            )
    return None


def _object(value: object, at: str) -> Problem | None:
    if not isinstance(value, dict):
        return Problem(at, f"Invalid value at '{at}' (type.googleapis.com/Object), {value!r}")
    return None


def _string(value: object, at: str) -> Problem | None:
    if not isinstance(value, str):
        return Problem(at, f"Invalid value at '{at}' (TYPE_STRING), {json.dumps(value)}")
    return None


def _string_map(value: object, at: str) -> Problem | None:
    if (problem := _object(value, at)) is not None:
        return problem
    for index, item in enumerate(cast(dict[str, Any], value).values()):
        if (problem := _string(item, f"{at}[{index}].value")) is not None:
            return problem
    return None


def _first(*checks: Callable[[], Problem | None]) -> Problem | None:
    for check in checks:
        if (problem := check()) is not None:
            return problem
    return None


def check_request(body: object) -> Problem | None:
    """The first reason FCM would refuse this request body, or None."""
    if not isinstance(body, dict):
        return Problem("", "Invalid JSON payload received. Expected an object.")
    if (problem := _unknown(body, {"message", "validate_only"}, "")) is not None:
        return problem
    fields = _fields(body)
    if "validate_only" in fields and not isinstance(fields["validate_only"], bool):
        return Problem("validate_only", "Invalid value at 'validate_only' (TYPE_BOOL)")
    if "message" not in fields:
        return Problem("message", "Request contains an invalid argument.")
    return check_message(fields["message"])


def check_message(message: object) -> Problem | None:
    """The first reason FCM would refuse this `message`, or None."""
    if (problem := _object(message, "message")) is not None:
        return problem
    raw = cast(dict[str, Any], message)
    if (problem := _unknown(raw, _MESSAGE_FIELDS, "message")) is not None:
        return problem
    fields = _fields(raw)
    targets = [name for name in _TARGETS if name in fields]
    if not targets:
        return Problem("message", "Recipient of the message is not set.")
    if len(targets) > 1:
        return Problem(
            "message",
            "Invalid value at 'message' (oneof), oneof field 'target' is already set. "
            f"Cannot set '{targets[1]}'",
        )
    target = targets[0]
    return _first(
        lambda: _check_target(target, fields[target]),
        lambda: _check_data(fields.get("data"), "message.data"),
        lambda: _check_notification(fields.get("notification"), "message.notification"),
        lambda: _check_android(fields.get("android")),
        lambda: _check_apns(fields.get("apns")),
        lambda: _check_webpush(fields.get("webpush")),
        lambda: _check_fcm_options(fields.get("fcm_options"), "message.fcm_options", set()),
    )


def _check_target(name: str, value: object) -> Problem | None:
    at = f"message.{name}"
    if (problem := _string(value, at)) is not None:
        return problem
    text = cast(str, value)
    if not text:
        return Problem(at, "Recipient of the message is not set.")
    if name == "topic" and not _TOPIC.match(text):
        return Problem(at, f"Invalid topic name {text!r}")
    return None


def _check_data(value: object, at: str) -> Problem | None:
    if value is None:
        return None
    if (problem := _string_map(value, at)) is not None:
        return problem
    data = cast(dict[str, str], value)
    for key in data:
        if key in _RESERVED_DATA_KEYS or key.startswith(_RESERVED_DATA_PREFIXES):
            return Problem(at, f"Invalid data payload key: {key}")
    size = sum(len(key.encode()) + len(item.encode()) for key, item in data.items())
    if size > DATA_LIMIT_BYTES:
        return Problem(at, f"Message is too big: data is {size} bytes, limit {DATA_LIMIT_BYTES}")
    return None


def _check_notification(value: object, at: str) -> Problem | None:
    if value is None:
        return None
    if (problem := _object(value, at)) is not None:
        return problem
    notification = cast(dict[str, Any], value)
    if (problem := _unknown(notification, _NOTIFICATION_FIELDS, at)) is not None:
        return problem
    for key, item in _fields(notification).items():
        if (problem := _string(item, f"{at}.{key}")) is not None:
            return problem
    return None


def _check_fcm_options(value: object, at: str, extra: set[str]) -> Problem | None:
    if value is None:
        return None
    if (problem := _object(value, at)) is not None:
        return problem
    options = cast(dict[str, Any], value)
    if (problem := _unknown(options, {"analytics_label", *extra}, at)) is not None:
        return problem
    fields = _fields(options)
    for key, item in fields.items():
        if (problem := _string(item, f"{at}.{key}")) is not None:
            return problem
    label = fields.get("analytics_label")
    if label is not None and not _ANALYTICS_LABEL.match(label):
        return Problem(f"{at}.analytics_label", "Malformed analytics label")
    return None


def _section(value: object, at: str, known: set[str]) -> dict[str, Any] | Problem:
    """The fields of a config object (snake_case names), or why it is malformed."""
    if (problem := _object(value, at)) is not None:
        return problem
    raw = cast(dict[str, Any], value)
    if (problem := _unknown(raw, known, at)) is not None:
        return problem
    return _fields(raw)


def _if_present(
    fields: Mapping[str, Any], key: str, check: Callable[[object], Problem | None]
) -> Problem | None:
    return check(fields[key]) if key in fields else None


def _check_android(value: object) -> Problem | None:
    at = "message.android"
    if value is None:
        return None
    fields = _section(value, at, _ANDROID_FIELDS)
    if isinstance(fields, Problem):
        return fields

    def priority(item: object) -> Problem | None:
        if isinstance(item, str) and item.upper() in {"NORMAL", "HIGH"}:
            return None
        return Problem(f"{at}.priority", f"Invalid value at '{at}.priority', {item!r}")

    def ttl(item: object) -> Problem | None:
        if isinstance(item, str) and _DURATION.match(item):
            return None
        return Problem(f"{at}.ttl", f"Invalid value at '{at}.ttl' (type.googleapis.com/Duration)")

    return _first(
        lambda: _if_present(fields, "priority", priority),
        lambda: _if_present(fields, "ttl", ttl),
        lambda: _if_present(fields, "collapse_key", lambda v: _string(v, f"{at}.collapse_key")),
        lambda: _if_present(
            fields,
            "restricted_package_name",
            lambda v: _string(v, f"{at}.restricted_package_name"),
        ),
        lambda: _check_data(fields.get("data"), f"{at}.data"),
        lambda: _if_present(fields, "notification", lambda v: _object(v, f"{at}.notification")),
        lambda: _check_fcm_options(fields.get("fcm_options"), f"{at}.fcm_options", set()),
    )


def _check_apns(value: object) -> Problem | None:
    at = "message.apns"
    if value is None:
        return None
    fields = _section(value, at, _APNS_FIELDS)
    if isinstance(fields, Problem):
        return fields
    return _first(
        lambda: _if_present(fields, "headers", lambda v: _check_apns_headers(v, f"{at}.headers")),
        lambda: _if_present(fields, "payload", lambda v: _check_apns_payload(v, f"{at}.payload")),
        lambda: _check_fcm_options(fields.get("fcm_options"), f"{at}.fcm_options", {"image"}),
    )


def _check_apns_headers(value: object, at: str) -> Problem | None:
    if (problem := _string_map(value, at)) is not None:
        return problem
    # APNs header names are case-insensitive.
    headers = {key.lower(): item for key, item in cast(dict[str, str], value).items()}
    if headers.get("apns-priority", "10") not in _APNS_PRIORITIES:
        return Problem(at, "Invalid APNs priority, expected 1, 5 or 10")
    if headers.get("apns-push-type", "alert") not in _APNS_PUSH_TYPES:
        return Problem(at, "Invalid APNs push type")
    return None


def _check_apns_payload(value: object, at: str) -> Problem | None:
    if (problem := _object(value, at)) is not None:
        return problem
    aps = cast(dict[str, Any], value).get("aps")
    if aps is None:
        return None
    if (problem := _object(aps, f"{at}.aps")) is not None:
        return problem
    available = cast(dict[str, Any], aps).get("content-available")
    if available is not None and (isinstance(available, bool) or not isinstance(available, int)):
        return Problem(f"{at}.aps", "content-available must be a number")
    return None


def _check_webpush(value: object) -> Problem | None:
    at = "message.webpush"
    if value is None:
        return None
    fields = _section(value, at, _WEBPUSH_FIELDS)
    if isinstance(fields, Problem):
        return fields
    return _first(
        lambda: _if_present(fields, "headers", lambda v: _string_map(v, f"{at}.headers")),
        lambda: _check_data(fields.get("data"), f"{at}.data"),
        lambda: _if_present(fields, "notification", lambda v: _object(v, f"{at}.notification")),
        lambda: _check_fcm_options(fields.get("fcm_options"), f"{at}.fcm_options", {"link"}),
    )


# --- The record and the server ---------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One recorded `messages:send` request and the status it was answered with."""

    project: str
    status: int
    body: dict[str, Any]


class Record:
    """What the stand-in was sent, in arrival order; shared by the handler threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Received] = []

    def add(self, item: Received) -> None:
        with self._lock:
            self._items.append(item)

    def items(self) -> list[Received]:
        with self._lock:
            return list(self._items)

    def clear(self) -> int:
        with self._lock:
            count = len(self._items)
            self._items.clear()
            return count


H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
H2_MAX_STREAMS = 100


_PROJECTS: dict[str, str | None] = {}  # request path -> its project (None: no such route)


def _project(path: str) -> str | None:
    if path in _PROJECTS:
        return _PROJECTS[path]
    match = _SEND_PATH.match(unquote(urlsplit(path).path))
    project = match.group("project") if match is not None else None
    if len(_PROJECTS) < 1_000:  # a bound against odd clients
        _PROJECTS[path] = project
    return project


def handle_send(record: Record, path: str, raw: bytes) -> tuple[int, object]:
    """A `messages:send` request, whatever the protocol: (status, answer), recorded."""
    project = _project(path)
    if project is None:
        return 404, {
            "error": {"code": 404, "message": f"No route for {path}", "status": "NOT_FOUND"}
        }
    try:
        body: object = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        answer = invalid("Invalid JSON payload received. Unexpected token.")
        return answer.status, answer.body
    answer = answer_send(project, body)
    if isinstance(body, dict) and not is_dry_run(body):
        record.add(Received(project, answer.status, body))
    return answer.status, answer.body


def serve_h2c(sock: socket.socket, record: Record, latency_s: float = 0.0) -> None:
    """One HTTP/2 connection (prior knowledge), until the client closes it.

    Each answer leaves `latency_s` after its request ended (FCM's own round trip, modelled for
    the benchmark), without holding up the connection's other streams: due answers wait in a
    heap and the socket is read until the first of them is due.

    Request headers get h2's full validation, once per distinct header list (a client sends the
    same list again and again): a list that fails it resets its stream with PROTOCOL_ERROR, as
    a malformed request is answered. Answers are built cheaply (h2 does not re-validate them):
    at zero latency the push benchmark measures the sender, not this server."""
    from h2.config import H2Configuration
    from h2.connection import H2Connection
    from h2.events import ConnectionTerminated, DataReceived, RequestReceived, StreamEnded
    from h2.settings import SettingCodes

    config = H2Configuration(
        client_side=False,
        header_encoding=None,
        validate_outbound_headers=False,
        validate_inbound_headers=False,
        normalize_inbound_headers=False,
    )
    conn = H2Connection(config)
    conn.initiate_connection()
    conn.update_settings({SettingCodes.MAX_CONCURRENT_STREAMS: H2_MAX_STREAMS})
    sock.sendall(conn.data_to_send())
    streams: dict[int, tuple[bytes, bytes, bytearray]] = {}  # id -> (method, path, body)
    due: list[tuple[float, int, int, bytes]] = []  # (when, stream id, status, body)
    valid: set[tuple[tuple[bytes, bytes], ...]] = set()
    while True:
        if due:
            wait = max(0.0, due[0][0] - time.monotonic())
            readable, _, _ = select.select([sock], [], [], wait)
        else:
            readable = [sock]
        if readable:
            data = sock.recv(65536)
            if not data:
                return
            for event in conn.receive_data(data):
                if isinstance(event, RequestReceived):
                    _open_stream(conn, event, streams, valid)
                elif isinstance(event, DataReceived) and event.stream_id in streams:
                    streams[event.stream_id][2].extend(event.data or b"")
                    conn.acknowledge_received_data(
                        event.flow_controlled_length or 0, event.stream_id
                    )
                elif isinstance(event, StreamEnded) and event.stream_id in streams:
                    method, path, body = streams.pop(event.stream_id)
                    if method == b"POST":
                        status, payload = handle_send(record, path.decode(), bytes(body))
                    else:
                        status, payload = 404, {"error": {"code": 404, "status": "NOT_FOUND"}}
                    out = json.dumps(payload).encode()
                    when = time.monotonic() + latency_s
                    heapq.heappush(due, (when, event.stream_id, status, out))
                elif isinstance(event, ConnectionTerminated):
                    sock.sendall(conn.data_to_send())
                    return
        _answer_due(conn, due)
        sock.sendall(conn.data_to_send())


def _open_stream(
    conn: Any,
    event: Any,
    streams: dict[int, tuple[bytes, bytes, bytearray]],
    valid: set[tuple[tuple[bytes, bytes], ...]],
) -> None:
    """A request's headers arrived: keep its method and path, or reset it if malformed."""
    from h2.errors import ErrorCodes

    headers = tuple(event.headers or ())
    if headers not in valid and not _valid_request_headers(headers, valid):
        conn.reset_stream(event.stream_id or 0, ErrorCodes.PROTOCOL_ERROR)
        return
    fields = dict(headers)
    method, path = fields.get(b":method", b""), fields.get(b":path", b"")
    streams[event.stream_id or 0] = (method, path, bytearray())


def _valid_request_headers(
    headers: tuple[tuple[bytes, bytes], ...], valid: set[tuple[tuple[bytes, bytes], ...]]
) -> bool:
    """h2's own checks of a request's header list (pseudo-headers, names, forbidden fields),
    remembered in `valid` when they pass."""
    from h2.exceptions import ProtocolError
    from h2.utilities import HeaderValidationFlags, validate_headers

    flags = HeaderValidationFlags(
        is_client=False, is_trailer=False, is_response_header=False, is_push_promise=False
    )
    try:
        for _ in validate_headers(headers, flags):
            pass
    except ProtocolError:
        return False
    if len(valid) >= 10_000:  # a bound against odd clients
        valid.clear()
    valid.add(headers)
    return True


def _answer_due(conn: Any, due: list[tuple[float, int, int, bytes]]) -> None:
    """Queue on `conn` the answers whose time has come (none for a stream the client reset
    meanwhile, as a client that gave up on a request does)."""
    from h2.exceptions import StreamClosedError

    now = time.monotonic()
    while due and due[0][0] <= now:
        _, stream_id, status, out = heapq.heappop(due)
        if stream_id not in conn.streams:  # closed and forgotten: reset by the client
            continue
        try:
            conn.send_headers(
                stream_id,
                [
                    (b":status", b"%d" % status),
                    (b"content-type", b"application/json; charset=UTF-8"),
                    (b"content-length", b"%d" % len(out)),
                ],
            )
        except StreamClosedError:
            continue
        conn.send_data(stream_id, out, end_stream=True)  # answers are < 16 KiB


class StandinServer(ThreadingHTTPServer):
    """The HTTP server with its record; one thread per connection."""

    daemon_threads = True
    # send_each opens one connection per message (up to 500 at once); the default backlog of 5
    # would make the kernel drop connection attempts under that burst.
    request_queue_size = 1024

    def __init__(self, port: int, latency_s: float = 0.0) -> None:
        self.record = Record()
        self.latency_s = latency_s
        self.connections = {"http/1.1": 0, "h2c": 0}
        self._count_lock = threading.Lock()
        super().__init__((HOST, port), _Handler)

    def count(self, protocol: str) -> None:
        with self._count_lock:
            self.connections[protocol] += 1


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive: firebase-admin reuses connections from a pool.
    protocol_version = "HTTP/1.1"
    server_version = "fcm-standin"
    # Headers and body go out in separate writes; without TCP_NODELAY a kept-alive connection
    # waits on the client's delayed ACK (about 40 ms) for every answer.
    disable_nagle_algorithm = True

    @property
    def _record(self) -> Record:
        return cast(StandinServer, self.server).record

    def handle(self) -> None:
        """HTTP/2 when the connection opens with its preface, else HTTP/1.1."""
        server = cast(StandinServer, self.server)
        try:
            first = self.connection.recv(len(H2_PREFACE), socket.MSG_PEEK | socket.MSG_WAITALL)
        except OSError:
            return
        if first == H2_PREFACE:
            server.count("h2c")
            with contextlib.suppress(OSError):
                serve_h2c(self.connection, server.record, server.latency_s)
            return
        server.count("http/1.1")
        super().handle()

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/healthz":
            self._send_json(200, {"ok": True})
        elif url.path == "/connections":
            self._send_json(200, dict(cast(StandinServer, self.server).connections))
        elif url.path == "/cpu":
            self._send_json(200, {"seconds": time.process_time()})
        elif url.path == "/messages":
            accepted_only = parse_qs(url.query).get("accepted", [""])[0].lower() == "true"
            items = self._record.items()
            self._send_json(
                200, [item.body for item in items if not accepted_only or item.status == 200]
            )
        elif url.path == "/requests":
            items = self._record.items()
            self._send_json(
                200,
                [{"project": i.project, "status": i.status, "body": i.body} for i in items],
            )
        else:
            self._not_found()

    def do_DELETE(self) -> None:
        if urlsplit(self.path).path == "/messages":
            self._send_json(200, {"deleted": self._record.clear()})
        else:
            self._not_found()

    def do_POST(self) -> None:
        raw = self._read_body()
        if _SEND_PATH.match(unquote(urlsplit(self.path).path)) is None:
            self._not_found()
            return
        status, payload = handle_send(self._record, self.path, raw)
        latency = cast(StandinServer, self.server).latency_s
        if latency:
            # One request at a time per HTTP/1.1 connection: its thread may simply wait.
            time.sleep(latency)
        self._send_json(status, payload)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    # Trailer lines end with an empty line.
                    while self.rfile.readline().strip():
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _not_found(self) -> None:
        message = f"No route for {self.command} {urlsplit(self.path).path}"
        self._send_json(404, {"error": {"code": 404, "message": message, "status": "NOT_FOUND"}})

    def _send_json(self, status: int, payload: object) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        if not self.path.startswith("/healthz"):  # readiness polling would drown the log
            super().log_message(format, *args)


def make_server(port: int, latency_s: float = 0.0) -> StandinServer:
    """A bound, not yet serving stand-in on 127.0.0.1:`port` (0 picks a free port)."""
    return StandinServer(port, latency_s)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="answer each messages:send this long after it arrived (benchmarks; default 0)",
    )
    args = parser.parse_args(argv)
    server = make_server(args.port, args.latency_ms / 1000)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        # Unwinds serve_forever in the main thread; handler threads are daemons.
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"FCM stand-in listening on {base_url(server.server_address[1])}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
