"""Sending silent pushes over HTTP/2: many FCM requests multiplexed on one or two connections.

FCM's HTTP v1 API takes one message per request. firebase-admin's `send_each` sends them from a
thread pool over HTTP/1.1, one connection per request in flight; its `send_each_async` speaks
HTTP/2 through httpx but builds a client per messaging service with no cap on connections and
no way to reuse it across event loops. This sender keeps, per instance, one event loop in a
thread of its own and a pool of at most `MAX_CONNECTIONS` HTTP/2 connections, each carrying up
to `STREAMS_PER_CONNECTION` requests at once (FCM's limit; fewer if the server says so): the
second connection opens only while the first is full. Every delivery of the instance shares
the same warm connections.

Why not httpx for this: profiled against the local stand-in (docs/BENCHMARKS.md), httpcore spent
most of a request's client time in its pool bookkeeping (rescanning every queued request for
each new one), in failed `import sniffio` attempts on every request, and in one socket write per
frame. This client is a thin layer on the same `h2` state machine httpx uses: the requests of a
delivery go out in one write, an answer is matched to its stream in the connection's
`data_received`, and the constant parts are built once: the request headers once per instance
(and again only when the credential's token changes), and a message's JSON apart from its token
and data once per instance and (platform, kind), the token and data spliced in per device.
The HPACK block of those constant headers is also encoded once per connection
(`_RequestEncoder`), and an answer is read no further than its status unless it is an error:
a 200's body is neither kept nor parsed.

The request is the one firebase-admin would send: its URL comes from the one seam,
`shared.fcm_endpoint.send_url` (Google's, or the local stand-in's), the message JSON from
`build_message` through firebase-admin's own encoder, the token from the app's credential, and
firebase-admin's own `X-GOOG-API-FORMAT-VERSION` / `X-FIREBASE-CLIENT` headers. Against an
`https://` URL HTTP/2 is negotiated by TLS (ALPN `h2`, refused otherwise); against the local
stand-in's `http://` URL it is HTTP/2 with prior knowledge (h2c), which the stand-in speaks.

Answers are classified as `shared.push.sender.classify` does for firebase-admin's errors:
UNREGISTERED drops the token, QUOTA_EXCEEDED / 429 / 5xx / transport errors (a refused or lost
connection, a reset stream, no answer within `TIMEOUT_S`) are retried by Cloud Tasks, other 4xx
fail without touching the token.

Over 400 lines: the connection pool, the HTTP/2 protocol handler and the sender share one event
loop and one set of failure rules (what a lost connection, a reset stream or a timeout means
for the requests in flight), which read best side by side.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import json
import ssl
import threading
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from hpack import Encoder, NeverIndexedHeaderTuple

from shared.push.planning import PushKind
from shared.push.sender import OutgoingPush, SendOutcome, SendResult, build_message

MAX_CONNECTIONS = 2
STREAMS_PER_CONNECTION = 100  # FCM's concurrent streams per connection
TIMEOUT_S = 30.0  # a delivery's requests without an answer by then are retries
CONNECT_TIMEOUT_S = 10.0
# After a failed connect, requests that would need a new connection fail at once for this long
# instead of each trying (and waiting) again: a delivery of 500 pushes fails in one go.
CONNECT_BACKOFF_S = 2.0
_FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
_CONFIG_ERRORS = {"SENDER_ID_MISMATCH", "THIRD_PARTY_AUTH_ERROR"}

Headers = list[tuple[bytes, bytes]]
_PLACEHOLDER = "-"  # stands for the token while a message template is encoded
# HPACK "literal never indexed" with the static table's name 28 (content-length), its value
# raw: the one header that changes per request stays out of the dynamic table, so the block of
# the others stays the same from one request to the next (RFC 7541, 6.2.3 and Appendix A).
_CONTENT_LENGTH_LITERAL = b"\x1f\x0d"


def classify_answer(status: int, body: Any) -> tuple[SendOutcome, str | None]:
    """What to do about one FCM answer (HTTP status and JSON body)."""
    if status == 200:
        return "sent", None
    error = body.get("error") if isinstance(body, Mapping) else None
    code: str | None = None
    if isinstance(error, Mapping):
        for detail in error.get("details") or []:
            if isinstance(detail, Mapping) and detail.get("@type") == _FCM_ERROR_TYPE:
                code = str(detail.get("errorCode") or "") or None
        code = code or (str(error.get("status")) if error.get("status") else None)
    code = code or str(status)
    if code == "UNREGISTERED":
        return "unregistered", code
    if code == "QUOTA_EXCEEDED" or status == 429 or status >= 500:
        return "retry", code
    if code in _CONFIG_ERRORS:
        return "failed", code
    return "failed", code


# The members of a push's message other than its token and data, by (platform, kind): what
# firebase-admin encodes for it never changes, so it is encoded once per instance.
_TEMPLATES: dict[tuple[str, str], bytes] = {}


def _template(platform: str, kind: PushKind) -> bytes:
    rest = _TEMPLATES.get((platform, kind))
    if rest is None:
        from shared.fcm_endpoint import encode

        encoded = encode(build_message(OutgoingPush("-", platform, _PLACEHOLDER, kind, {})))
        encoded.pop("token", None)
        encoded.pop("data", None)
        # The object's members without its braces: spliced after the token and data.
        rest = json.dumps(encoded, separators=(",", ":")).encode()[1:-1]
        _TEMPLATES[(platform, kind)] = rest  # a race encodes it twice, harmlessly
    return rest


def message_bodies(pushes: Sequence[OutgoingPush]) -> list[bytes]:
    """The `messages:send` request body of each push, as firebase-admin encodes it.

    A push's message is the same for every push of its platform and kind apart from its token
    and data, so that part is encoded once per instance (`_template`); the data, one mapping
    shared by every push of a delivery, once per call; and only the token per push, as
    firebase-admin would (a string), each body made in one formatting step."""
    bodies: list[bytes] = []
    data_members: dict[int, bytes] = {}  # by id: the pushes keep each mapping alive meanwhile
    for push in pushes:
        data = push.data
        member = data_members.get(id(data))
        if member is None:
            member = _data_member(data)
            data_members[id(data)] = member
        rest = _template(push.platform, push.kind)
        bodies.append(
            b'{"message":{"token":%s%s%s}}'
            % (json.dumps(push.token).encode(), member, b"," + rest if rest else b"")
        )
    return bodies


def _data_member(data: Mapping[str, str]) -> bytes:
    """`,"data":{...}` as firebase-admin encodes a message's data (a map of strings), or
    nothing for no data."""
    if not data:
        return b""
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ValueError("Message.data must be a dict of strings")
    return b',"data":' + json.dumps(dict(data), separators=(",", ":")).encode()


class _RequestEncoder(Encoder):
    """HPACK encoder that reuses the encoded block of a request's constant headers.

    Every request of the instance carries the same headers but its content-length, which goes
    last and never indexed (`_content_length`). Once encoding the others leaves the dynamic
    table as it was (every one of them already in it: from the second request of a connection
    on), their block is the same bytes each time and is kept; it is dropped, and the headers
    encoded in full, as soon as the table differs from when it was kept (another header list,
    an eviction, a size change the server asked for)."""

    def __init__(self) -> None:
        super().__init__()
        self._prefix: list[Any] | None = None
        self._block = b""
        self._state: tuple[int, int, int] | None = None

    def _table_state(self) -> tuple[int, int, int]:
        table = self.header_table
        entries = table.dynamic_entries
        return len(entries), id(entries[0]) if entries else 0, table.maxsize

    def encode(self, headers: Any, huffman: bool = True) -> bytes:
        last = headers[-1] if isinstance(headers, list) and headers else None
        if not isinstance(last, NeverIndexedHeaderTuple) or last[0] != b"content-length":
            self._prefix = None
            return super().encode(headers, huffman)
        prefix = headers[:-1]
        tail = _content_length(last[1])
        if (
            prefix == self._prefix
            and not self.header_table.resized
            and self._table_state() == self._state
        ):
            return self._block + tail
        before = self._table_state()
        block = super().encode(prefix, huffman)
        state = self._table_state()
        if state == before and not self.header_table.resized:
            self._prefix, self._block, self._state = prefix, block, state
        else:
            self._prefix = None
        return block + tail


def _content_length(value: bytes) -> bytes:
    """The never-indexed content-length field (values under 127 bytes: a one-byte length)."""
    if len(value) >= 127:  # HPACK's 7-bit length prefix
        raise ValueError("content-length value too long")
    return _CONTENT_LENGTH_LITERAL + bytes((len(value),)) + value


class _Stream:
    """A request in flight: its answer's future, status and (for an error only) body."""

    __slots__ = ("body", "future", "status")

    def __init__(self, future: asyncio.Future[tuple[int, bytes]]) -> None:
        self.future = future
        self.status = 0
        self.body: bytearray | None = None


class _Connection(asyncio.Protocol):
    """One HTTP/2 client connection: streams out, answers matched back to their futures."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        from h2.config import H2Configuration
        from h2.connection import H2Connection

        # Our request headers are fixed, lower-case and checked by the tests: no per-request
        # validation or normalisation pass. Of an answer's headers only `:status` is read, so
        # they are not validated either (the connection's framing and HPACK still are).
        config = H2Configuration(
            client_side=True,
            header_encoding=None,
            validate_outbound_headers=False,
            normalize_outbound_headers=False,
            validate_inbound_headers=False,
            normalize_inbound_headers=False,
        )
        self._h2 = H2Connection(config)
        self._h2.encoder = _RequestEncoder()
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._streams: dict[int, _Stream] = {}
        self._window: asyncio.Future[None] | None = None
        self._flush_pending = False
        self.usable = True  # False once the server sent GOAWAY or the connection is gone
        self.in_flight = 0
        self.capacity = STREAMS_PER_CONNECTION  # lowered if the server's settings say so

    def _update_capacity(self) -> None:
        remote = self._h2.remote_settings.max_concurrent_streams
        self.capacity = min(STREAMS_PER_CONNECTION, remote)

    # -- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._h2.initiate_connection()
        self._flush()

    def data_received(self, data: bytes) -> None:
        from h2.exceptions import ProtocolError

        try:
            received = self._h2.receive_data(data)
        except ProtocolError as err:
            self._abort(err)
            return
        for event in received:
            self._on_event(event)
        self._flush()

    def _on_event(self, event: Any) -> None:
        from h2 import events

        if isinstance(event, events.ResponseReceived):
            self._on_response(event.stream_id or 0, event.headers or ())
        elif isinstance(event, events.DataReceived):
            stream = self._streams.get(event.stream_id or 0)
            if stream is not None and stream.body is not None:
                stream.body.extend(event.data or b"")
            self._h2.acknowledge_received_data(
                event.flow_controlled_length or 0, event.stream_id or 0
            )
        elif isinstance(event, events.StreamEnded):
            stream = self._streams.pop(event.stream_id or 0, None)
            if stream is not None and not stream.future.done():
                body = bytes(stream.body) if stream.body is not None else b""
                stream.future.set_result((stream.status, body))
        elif isinstance(event, events.StreamReset):
            self._fail_stream(event.stream_id or 0, f"stream reset ({event.error_code!r})")
        elif isinstance(event, events.RemoteSettingsChanged):
            self._update_capacity()
            self._wake_window()
        elif isinstance(event, events.WindowUpdated):
            self._wake_window()
        elif isinstance(event, events.ConnectionTerminated):
            # GOAWAY: streams above its last id were not processed and may be retried; the
            # others still get their answers.
            self.usable = False
            last = event.last_stream_id or 0
            for stream_id in [s for s in self._streams if s > last]:
                self._fail_stream(stream_id, "connection closed by the server (GOAWAY)")
            if not self._streams and self._transport is not None:
                self._transport.close()

    def _on_response(self, stream_id: int, headers: Sequence[tuple[bytes, bytes]]) -> None:
        stream = self._streams.get(stream_id)
        if stream is None:
            return
        for name, value in headers:
            if name == b":status":
                stream.status = int(value)
                break
        if stream.status != 200:  # only an error's body is read
            stream.body = bytearray()

    def connection_lost(self, exc: Exception | None) -> None:
        self.usable = False
        for stream_id in list(self._streams):
            self._fail_stream(stream_id, f"connection lost ({exc or 'closed'})")
        self._wake_window()

    # -- requests ---------------------------------------------------------------------------

    def fits(self, size: int) -> bool:
        """Whether a body of `size` bytes leaves at once, in one DATA frame (flow control)."""
        h2 = self._h2
        return size <= min(
            h2.outbound_flow_control_window,
            h2.remote_settings.initial_window_size,
            h2.max_outbound_frame_size,
        )

    def start(self, headers: Headers, body: bytes) -> tuple[int, asyncio.Future[tuple[int, bytes]]]:
        """Send a request whose body `fits` now, without waiting; its stream and the future of
        its answer (which `abandon` ends if it is given up)."""
        stream_id, future = self._open_stream(headers, body)
        try:
            self._h2.send_data(stream_id, body, end_stream=True)
        except BaseException:
            self._streams.pop(stream_id, None)
            raise
        self._flush_soon()
        return stream_id, future

    def abandon(self, stream_id: int, why: str) -> None:
        """Give up a request `start`ed: its future fails with TimeoutError, its stream is reset."""
        stream = self._streams.pop(stream_id, None)
        if stream is None:
            return
        if not stream.future.done():
            stream.future.set_exception(TimeoutError(why))
        if self.usable:
            self._reset(stream_id)

    def _open_stream(
        self, headers: Headers, body: bytes
    ) -> tuple[int, asyncio.Future[tuple[int, bytes]]]:
        from h2.exceptions import NoAvailableStreamIDError

        try:
            stream_id = self._h2.get_next_available_stream_id()
        except NoAvailableStreamIDError:
            self.usable = False  # ids exhausted: this connection takes no more requests
            raise ConnectionError("no stream ids left on this connection") from None
        future: asyncio.Future[tuple[int, bytes]] = self._loop.create_future()
        self._streams[stream_id] = _Stream(future)
        # Last and never indexed: `_RequestEncoder` keeps the block of the headers before it.
        length = NeverIndexedHeaderTuple(b"content-length", b"%d" % len(body))
        try:
            self._h2.send_headers(stream_id, [*headers, length])
        except BaseException:
            self._streams.pop(stream_id, None)
            raise
        return stream_id, future

    async def request(self, headers: Headers, body: bytes) -> tuple[int, bytes]:
        """Send one request on a new stream, waiting for flow control if need be; (status,
        body) of its answer."""
        stream_id, future = self._open_stream(headers, body)
        try:
            await self._send_body(stream_id, body)
            self._flush_soon()
            async with asyncio.timeout(TIMEOUT_S):
                return await future
        except BaseException:
            if self._streams.pop(stream_id, None) is not None and self.usable:
                self._reset(stream_id)
            raise

    async def _send_body(self, stream_id: int, body: bytes) -> None:
        sent = 0
        while sent < len(body):
            window = min(
                self._h2.local_flow_control_window(stream_id), self._h2.max_outbound_frame_size
            )
            if window <= 0:
                # Flow control: wait for the server's WINDOW_UPDATE (or the connection's end).
                if self._window is None or self._window.done():
                    self._window = self._loop.create_future()
                self._flush()
                await self._window
                if not self.usable:
                    raise ConnectionError("connection lost while sending")
                continue
            chunk = body[sent : sent + window]
            sent += len(chunk)
            self._h2.send_data(stream_id, chunk, end_stream=sent == len(body))

    def alpn(self) -> str | None:
        """The protocol TLS agreed on (None over cleartext)."""
        tls = self._transport.get_extra_info("ssl_object") if self._transport else None
        return tls.selected_alpn_protocol() if tls is not None else None

    def close(self) -> None:
        self.usable = False
        if self._transport is not None and not self._transport.is_closing():
            self._h2.close_connection()
            self._flush()
            self._transport.close()

    # -- internals --------------------------------------------------------------------------

    def _flush_soon(self) -> None:
        # The requests a delivery starts in one turn of the loop leave in one write.
        if not self._flush_pending:
            self._flush_pending = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        data = self._h2.data_to_send()
        if data and self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def _fail_stream(self, stream_id: int, why: str) -> None:
        stream = self._streams.pop(stream_id, None)
        if stream is not None and not stream.future.done():
            stream.future.set_exception(ConnectionError(why))

    def _reset(self, stream_id: int) -> None:
        from h2.exceptions import H2Error

        try:
            self._h2.reset_stream(stream_id)
        except H2Error:
            return  # already closed on the protocol's side
        self._flush_soon()

    def _wake_window(self) -> None:
        if self._window is not None and not self._window.done():
            self._window.set_result(None)

    def _abort(self, err: Exception) -> None:
        self.usable = False
        for stream_id in list(self._streams):
            self._fail_stream(stream_id, f"protocol error ({err})")
        if self._transport is not None:
            self._transport.close()


class _Pool:
    """At most `max_connections` connections to one origin; a new one only when all are full."""

    def __init__(self, url: str, max_connections: int) -> None:
        parts = urlsplit(url)
        self.scheme = parts.scheme
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if self.scheme == "https" else 80)
        self.authority = parts.netloc
        self.path = parts.path + (f"?{parts.query}" if parts.query else "")
        self._max = max_connections
        self._connections: list[_Connection] = []
        self._opening = 0
        # Requests waiting for a free stream, woken one per freed stream (first come, first
        # served), not all at once: a delivery of 500 would otherwise rescan 500 times each.
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._connect_error: tuple[Exception, float] | None = None
        self.opened = 0  # connections opened so far (the benchmark reports them)

    def start(
        self, headers: Headers, body: bytes
    ) -> tuple[_Connection, int, asyncio.Future[tuple[int, bytes]]] | None:
        """The usual case, without a task or a wait: a free stream on a warm connection and a
        body that fits its window. None when the request has to wait (`request`)."""
        connection = self._free()
        if connection is None or not connection.fits(len(body)):
            return None
        stream_id, future = connection.start(headers, body)
        connection.in_flight += 1
        future.add_done_callback(functools.partial(self._finished, connection))
        return connection, stream_id, future

    def _finished(self, connection: _Connection, _: object) -> None:
        connection.in_flight -= 1
        self._wake(1 if connection.usable else len(self._waiters))

    async def request(self, headers: Headers, body: bytes) -> tuple[int, bytes]:
        connection = await self._acquire()
        try:
            return await connection.request(headers, body)
        finally:
            connection.in_flight -= 1
            self._wake(1 if connection.usable else len(self._waiters))

    async def _acquire(self) -> _Connection:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(TIMEOUT_S):
            while True:
                connection = self._free()
                if connection is not None:
                    connection.in_flight += 1
                    return connection
                # One connect at a time: the requests that find one under way wait for its
                # streams rather than opening another connection each.
                if not self._opening and len(self._connections) < self._max:
                    failed = self._connect_error
                    if failed is None or loop.time() - failed[1] >= CONNECT_BACKOFF_S:
                        connection = await self._open(loop)
                        connection.in_flight += 1
                        return connection
                    if not self._connections:
                        raise failed[0]
                waiter: asyncio.Future[None] = loop.create_future()
                self._waiters.append(waiter)
                try:
                    await waiter
                except BaseException:
                    if waiter.done() and not waiter.cancelled():
                        self._wake(1)  # pass on the wake-up this request no longer needs
                    raise

    def _free(self) -> _Connection | None:
        """The first usable connection with a free stream (filling the first before the
        second), after dropping the unusable ones."""
        for connection in self._connections:
            if not connection.usable:
                break
        else:  # all usable: nothing to drop (the usual case, checked once per request)
            for connection in self._connections:
                if connection.in_flight < connection.capacity:
                    return connection
            return None
        for connection in self._connections:
            if not connection.usable and connection.in_flight == 0:
                connection.close()
        self._connections = [c for c in self._connections if c.usable]
        return self._free()

    def _wake(self, count: int) -> None:
        while count > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                count -= 1

    async def _open(self, loop: asyncio.AbstractEventLoop) -> _Connection:
        self._opening += 1
        try:
            context = _tls_context() if self.scheme == "https" else None
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                _, connection = await loop.create_connection(
                    lambda: _Connection(loop),
                    self.host,
                    self.port,
                    ssl=context,
                    server_hostname=self.host if context is not None else None,
                )
            if context is not None and connection.alpn() != "h2":
                connection.close()
                raise ConnectionError(f"{self.host} did not agree to HTTP/2 (ALPN)")
        except Exception as err:
            self._connect_error = (err, loop.time())
            self._wake(len(self._waiters))  # they fail at once instead of waiting it out
            raise
        finally:
            self._opening -= 1
        self._connect_error = None
        self._connections.append(connection)
        self.opened += 1
        self._wake(connection.capacity - 1)
        return connection

    def close(self) -> None:
        for connection in self._connections:
            connection.close()
        self._connections = []
        self._wake(len(self._waiters))


def _tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    try:
        import certifi
    except ImportError:  # the system's CA store, loaded above, is enough then
        pass
    else:
        context.load_verify_locations(certifi.where())
    context.set_alpn_protocols(["h2"])
    return context


class Http2FcmSender:
    """`Sender` over HTTP/2 with a per-instance connection pool (see the module docstring)."""

    def __init__(self, app: Any = None, max_connections: int = MAX_CONNECTIONS) -> None:
        self._app = app
        self._max_connections = max_connections
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pool: _Pool | None = None
        self._url = ""
        self._auth_request: Any = None
        self._headers: Headers | None = None
        self._token: object = None

    @property
    def connections_opened(self) -> int:
        return self._pool.opened if self._pool is not None else 0

    def send(self, pushes: Sequence[OutgoingPush]) -> list[SendResult]:
        if not pushes:
            return []
        loop, pool = self._start()
        headers = self._request_headers(pool)
        bodies = message_bodies(pushes)
        future = asyncio.run_coroutine_threadsafe(
            _send_all(pool, headers, list(pushes), bodies), loop
        )
        return future.result(timeout=TIMEOUT_S * 3)

    def close(self) -> None:
        with self._lock:
            loop, pool = self._loop, self._pool
            self._loop = self._pool = None
        if loop is not None:
            if pool is not None:
                loop.call_soon_threadsafe(pool.close)
            loop.call_soon_threadsafe(loop.stop)

    # -- internals --------------------------------------------------------------------------

    def _firebase_app(self) -> Any:
        from shared.clients import firebase_app

        return self._app if self._app is not None else firebase_app()

    def _start(self) -> tuple[asyncio.AbstractEventLoop, _Pool]:
        with self._lock:
            if self._loop is not None and self._pool is not None:
                return self._loop, self._pool
            from shared.fcm_endpoint import send_url

            self._url = send_url(self._firebase_app().project_id)
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="fcm-h2", daemon=True).start()

            async def make() -> _Pool:  # the pool's Event belongs to the sender's loop
                return _Pool(self._url, self._max_connections)

            self._pool = asyncio.run_coroutine_threadsafe(make(), loop).result(timeout=10)
            self._loop = loop
            return loop, self._pool

    def _request_headers(self, pool: _Pool) -> Headers:
        """The headers of every request, rebuilt only when the credential's token changes (the
        local stack's anonymous credentials add none)."""
        credential = self._firebase_app().credential.get_credential()
        with self._lock:
            if self._headers is not None and credential.valid and credential.token == self._token:
                return self._headers
            import firebase_admin
            import google.auth.transport.requests

            if self._auth_request is None:
                self._auth_request = google.auth.transport.requests.Request()
            auth: dict[str, str] = {}
            credential.before_request(self._auth_request, "POST", self._url, auth)  # refreshes
            headers: Headers = [
                (b":method", b"POST"),
                (b":scheme", pool.scheme.encode()),
                (b":authority", pool.authority.encode()),
                (b":path", pool.path.encode()),
                (b"content-type", b"application/json; charset=UTF-8"),
                (b"x-goog-api-format-version", b"2"),
                (b"x-firebase-client", f"fire-admin-python/{firebase_admin.__version__}".encode()),
            ]
            headers += [(k.lower().encode(), v.encode()) for k, v in auth.items()]
            self._headers, self._token = headers, credential.token
            return headers


async def _send_all(
    pool: _Pool, headers: Headers, pushes: list[OutgoingPush], bodies: list[bytes]
) -> list[SendResult]:
    """Every push's request, started at once where a stream is free (the others wait for one
    in a task), each given up after `TIMEOUT_S`; one result per push, in order."""
    loop = asyncio.get_running_loop()
    answers: list[asyncio.Future[tuple[int, bytes]]] = []
    started: list[tuple[_Connection, int] | None] = []
    for body in bodies:
        try:
            fast = pool.start(headers, body)
        except OSError as err:  # no stream ids left: that request is retried
            failed: asyncio.Future[tuple[int, bytes]] = loop.create_future()
            failed.set_exception(err)
            answers.append(failed)
            started.append(None)
            continue
        if fast is not None:
            answers.append(fast[2])
            started.append((fast[0], fast[1]))
        else:
            answers.append(loop.create_task(pool.request(headers, body)))
            started.append(None)
    _, pending = await asyncio.wait(answers, timeout=TIMEOUT_S)
    if pending:
        why = f"no answer within {TIMEOUT_S:g} s"
        for answer, where in zip(answers, started, strict=True):
            if answer not in pending:
                continue
            if where is not None:
                where[0].abandon(where[1], why)
            else:
                answer.cancel()
        await asyncio.wait(pending)  # the cancelled tasks reset their streams
    return [_result(push, answer) for push, answer in zip(pushes, answers, strict=True)]


def _result(push: OutgoingPush, answer: asyncio.Future[tuple[int, bytes]]) -> SendResult:
    """One push's outcome from its answer (read no further than the status when it is 200)."""
    error = TimeoutError("no answer in time") if answer.cancelled() else answer.exception()
    if isinstance(error, OSError | TimeoutError):  # ConnectionError is an OSError
        return SendResult(push, "retry", type(error).__name__, str(error)[:200])
    if error is not None:
        raise error
    status, raw = answer.result()
    if status == 200:  # the body of a 200 is not read
        return SendResult(push, "sent")
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = None
    outcome, code = classify_answer(status, body)
    return SendResult(push, outcome, code, raw[:200].decode(errors="replace"))
