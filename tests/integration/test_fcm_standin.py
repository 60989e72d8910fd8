"""The FCM stand-in, driven by the real firebase-admin messaging client through the one seam."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import firebase_admin
import pytest
import requests
from firebase_admin import messaging
from google.auth.credentials import AnonymousCredentials

from devstack import fcm_standin
from devstack.process import ManagedProcess, StackError, free_port, http_ok, wait_until
from shared.fcm_endpoint import point_messaging_at

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "demo-focus"

# The API contract names FCM registration tokens; firebase-admin 7.7 flags `token=` as deprecated
# in favour of installation ids (`fid=`), which the stand-in treats the same way.
pytestmark = pytest.mark.filterwarnings("ignore:Message.token is deprecated:DeprecationWarning")


def _start(proc: ManagedProcess, url: str) -> None:
    proc.start()
    try:
        wait_until(lambda: http_ok(url), timeout=20, what=proc.name)
    except StackError:
        proc.ensure_running()  # raises with the log tail when it died
        proc.stop()
        raise


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    proc = ManagedProcess(
        "fcm-standin",
        fcm_standin.command(sys.executable, port),
        log_dir=tmp_path_factory.mktemp("fcm-logs"),
        cwd=ROOT,
    )
    _start(proc, fcm_standin.health_url(port))
    try:
        yield fcm_standin.base_url(port)
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def seam(standin: str) -> Iterator[str]:
    """firebase-admin messaging pointed at the stand-in, and back afterwards."""
    # Must precede an app's first send: the messaging service reads the URL once, when built.
    point_messaging_at(standin)
    try:
        yield standin
    finally:
        point_messaging_at(None)


def _new_app() -> firebase_admin.App:
    # A google.auth credential is wrapped by firebase-admin itself; anonymous credentials add no
    # Authorization header and never refresh, which is all the stand-in needs.
    return firebase_admin.initialize_app(
        credential=AnonymousCredentials(),
        options={"projectId": PROJECT},
        name=f"fcm-standin-{uuid.uuid4().hex}",
    )


def _slow_standin(
    tmp_path: Path, name: str, latency_ms: int
) -> tuple[ManagedProcess, firebase_admin.App]:
    """A stand-in of its own that answers after `latency_ms`, started, with messaging pointed
    at it and a new app to send with (the caller stops the process)."""
    port = free_port()
    proc = ManagedProcess(
        name,
        fcm_standin.command(sys.executable, port, latency_ms=latency_ms),
        log_dir=tmp_path,
        cwd=ROOT,
    )
    _start(proc, fcm_standin.health_url(port))
    app = _new_app()
    point_messaging_at(fcm_standin.base_url(port))
    return proc, app


@pytest.fixture(scope="module")
def app(seam: str) -> Iterator[firebase_admin.App]:
    fb_app = _new_app()
    try:
        yield fb_app
    finally:
        firebase_admin.delete_app(fb_app)


@pytest.fixture(autouse=True)
def empty_record(standin: str) -> None:
    requests.delete(f"{standin}/messages", timeout=5).raise_for_status()


def _messages(standin: str, **params: str) -> list[dict[str, Any]]:
    resp = requests.get(f"{standin}/messages", params=params, timeout=5)
    resp.raise_for_status()
    return list(resp.json())


def _background(token: str, **data: str) -> messaging.Message:
    return messaging.Message(
        token=token,
        data=data,
        android=messaging.AndroidConfig(priority="normal"),
        apns=messaging.APNSConfig(
            headers={"apns-push-type": "background", "apns-priority": "5"},
            payload=messaging.APNSPayload(aps=messaging.Aps(content_available=True)),
        ),
    )


def test_background_push_is_recorded_with_its_apns_headers(
    standin: str, app: firebase_admin.App
) -> None:
    name = messaging.send(_background("device-a", kind="sync"), app=app)

    assert name.startswith(f"projects/{PROJECT}/messages/")
    [body] = _messages(standin)
    message = body["message"]
    assert message["token"] == "device-a"
    assert message["data"] == {"kind": "sync"}
    assert message["apns"]["headers"] == {"apns-push-type": "background", "apns-priority": "5"}
    assert message["apns"]["payload"] == {"aps": {"content-available": 1}}
    assert "notification" not in message


def test_send_each_reports_only_the_unregistered_token(
    standin: str, app: firebase_admin.App
) -> None:
    tokens = ["device-a", "unregistered-device-b", "device-c"]

    batch = messaging.send_each([_background(t, kind="sync") for t in tokens], app=app)

    assert batch.success_count == 2
    assert batch.failure_count == 1
    failed = [t for t, r in zip(tokens, batch.responses, strict=True) if not r.success]
    assert failed == ["unregistered-device-b"]
    assert isinstance(batch.responses[1].exception, messaging.UnregisteredError)
    # send_each issues one POST per message: all three are recorded, the failed one included.
    recorded = sorted(b["message"]["token"] for b in _messages(standin))
    assert recorded == sorted(tokens)
    accepted = sorted(b["message"]["token"] for b in _messages(standin, accepted="true"))
    assert accepted == ["device-a", "device-c"]


def test_send_each_async_reports_the_unregistered_token(seam: str) -> None:
    # An app of its own: after asyncio.run has closed its loop, firebase-admin's pooled async
    # connections still belong to that loop, so a later asyncio.run with the same app (another
    # send_each_async, or delete_app closing the client) fails with "Event loop is closed".
    fb_app = _new_app()
    tokens = ["device-a", "unregistered-device-b"]
    try:
        batch = asyncio.run(
            messaging.send_each_async([_background(t, kind="sync") for t in tokens], app=fb_app)
        )
    finally:
        with contextlib.suppress(RuntimeError):  # the app is unregistered before closing fails
            firebase_admin.delete_app(fb_app)

    assert [r.success for r in batch.responses] == [True, False]
    assert isinstance(batch.responses[1].exception, messaging.UnregisteredError)


def test_send_raises_unregistered_error(app: firebase_admin.App) -> None:
    with pytest.raises(messaging.UnregisteredError):
        messaging.send(_background("unregistered-gone", kind="sync"), app=app)


def test_messages_are_listed_in_arrival_order(standin: str, app: firebase_admin.App) -> None:
    for n in range(3):
        messaging.send(_background("device-a", seq=str(n)), app=app)
    with pytest.raises(messaging.UnregisteredError):
        messaging.send(_background("unregistered-x", seq="3"), app=app)

    assert [b["message"]["data"]["seq"] for b in _messages(standin)] == ["0", "1", "2", "3"]
    assert [b["message"]["data"]["seq"] for b in _messages(standin, accepted="true")] == [
        "0",
        "1",
        "2",
    ]
    statuses = requests.get(f"{standin}/requests", timeout=5).json()
    assert [(r["project"], r["status"]) for r in statuses] == [(PROJECT, 200)] * 3 + [
        (PROJECT, 404)
    ]


def test_delete_clears_the_record(standin: str, app: firebase_admin.App) -> None:
    messaging.send(_background("device-a", kind="sync"), app=app)
    assert len(_messages(standin)) == 1

    resp = requests.delete(f"{standin}/messages", timeout=5)

    assert resp.status_code == 200
    assert _messages(standin) == []


def test_dry_run_is_validated_but_not_recorded(standin: str, app: firebase_admin.App) -> None:
    name = messaging.send(_background("device-a", kind="sync"), dry_run=True, app=app)

    assert name == f"projects/{PROJECT}/messages/fake_message_id"
    assert _messages(standin) == []


@pytest.mark.parametrize(
    ("message", "field"),
    [
        pytest.param({"data": {"kind": "sync"}}, "message", id="no-target"),
        pytest.param({"token": "a", "topic": "news"}, "message", id="two-targets"),
        pytest.param({"token": "a", "data": {"seq": 1}}, "message.data[0].value", id="int-data"),
        pytest.param({"token": "a", "data": {"from": "x"}}, "message.data", id="reserved-key"),
        pytest.param({"token": "a", "badge": 1}, "message", id="unknown-field"),
        pytest.param({"token": "a", "apns": []}, "message.apns", id="apns-not-object"),
        pytest.param(
            {"token": "a", "apns": {"headers": {"apns-priority": 5}}},
            "message.apns.headers[0].value",
            id="apns-header-not-string",
        ),
        pytest.param(
            {"token": "a", "android": {"priority": "urgent"}},
            "message.android.priority",
            id="android-priority",
        ),
        pytest.param(
            {"token": "a", "notification": {"title": 3}},
            "message.notification.title",
            id="notification-title",
        ),
        pytest.param({"token": "a", "data": {"k": "x" * 5000}}, "message.data", id="data-too-big"),
    ],
)
def test_malformed_message_is_refused_in_fcm_error_shape(
    standin: str, message: dict[str, Any], field: str
) -> None:
    body = {"message": message}

    resp = requests.post(f"{standin}/v1/projects/{PROJECT}/messages:send", json=body, timeout=5)

    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["code"] == 400
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["message"]
    assert {
        "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
        "errorCode": "INVALID_ARGUMENT",
    } in error["details"]
    violations = [d for d in error["details"] if "fieldViolations" in d]
    assert violations[0]["fieldViolations"][0]["field"] == field
    assert _messages(standin) == [body]  # recorded as received, and not accepted
    assert _messages(standin, accepted="true") == []


def test_body_that_is_not_json_is_refused_and_not_recorded(standin: str) -> None:
    resp = requests.post(
        f"{standin}/v1/projects/{PROJECT}/messages:send", data=b"{not json", timeout=5
    )

    assert resp.status_code == 400
    assert resp.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert _messages(standin) == []


@pytest.mark.parametrize(
    ("token", "code", "status", "error_code"),
    [
        ("unregistered-1", 404, "NOT_FOUND", "UNREGISTERED"),
        ("quota-1", 429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"),
        ("unavailable-1", 503, "UNAVAILABLE", "UNAVAILABLE"),
        ("invalid-1", 400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"),
    ],
)
def test_token_prefix_chooses_the_fcm_error(
    standin: str, token: str, code: int, status: str, error_code: str
) -> None:
    # Raw HTTP: firebase-admin would retry the 503 four times with backoff.
    body = {"message": {"token": token, "data": {"kind": "sync"}}}

    resp = requests.post(f"{standin}/v1/projects/{PROJECT}/messages:send", json=body, timeout=5)

    assert resp.status_code == code
    error = resp.json()["error"]
    assert (error["code"], error["status"]) == (code, status)
    assert {
        "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
        "errorCode": error_code,
    } in error["details"]
    assert _messages(standin) == [body]


def test_seam_is_idempotent_and_undone_by_none(seam: str) -> None:
    from firebase_admin.messaging import _MessagingService

    point_messaging_at(seam)
    point_messaging_at(seam)
    redirected = _MessagingService.FCM_URL
    assert redirected == f"{seam}/v1/projects/{{0}}/messages:send"
    point_messaging_at(None)
    try:
        production = _MessagingService.FCM_URL
        assert production == "https://fcm.googleapis.com/v1/projects/{0}/messages:send"
    finally:
        point_messaging_at(seam)


def test_stops_cleanly_on_sigterm() -> None:
    port = free_port()
    proc = subprocess.Popen(
        fcm_standin.command(sys.executable, port),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: http_ok(fcm_standin.health_url(port)), timeout=20, what="stand-in")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_http2_sender_multiplexes_on_at_most_two_connections(
    standin: str, app: firebase_admin.App
) -> None:
    """The HTTP/2 sender speaks h2c to the stand-in: 600 pushes over at most two connections,
    each recorded with firebase-admin's JSON, and each answer classified."""
    from shared.push.h2_sender import Http2FcmSender
    from shared.push.sender import OutgoingPush

    def h2c() -> int:
        return int(requests.get(f"{standin}/connections", timeout=5).json()["h2c"])

    before = h2c()
    sender = Http2FcmSender(app)
    pushes = [
        OutgoingPush(f"d{i}", "ios" if i % 2 else "android", f"tok-{i}", "schedule", {"k": "v"})
        for i in range(599)
    ]
    pushes.append(OutgoingPush("gone", "ios", "unregistered-x", "sync", {"kind": "sync"}))
    try:
        results = sender.send(pushes)
    finally:
        sender.close()
    assert [r.outcome for r in results] == ["sent"] * 599 + ["unregistered"]
    assert results[-1].code == "UNREGISTERED"
    assert 1 <= h2c() - before <= 2
    recorded = _messages(standin)
    assert len(recorded) == 600
    ios = next(m["message"] for m in recorded if m["message"]["token"] == "tok-1")
    assert ios["apns"]["payload"]["aps"] == {"content-available": 1}


def test_fcm_answers_are_classified_like_firebase_admin_errors() -> None:
    from shared.push.h2_sender import classify_answer

    def error(status: int, code: str | None, state: str) -> dict[str, Any]:
        details = [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError"}]
        if code:
            details[0]["errorCode"] = code
        return {"error": {"code": status, "status": state, "details": details}}

    assert classify_answer(200, {"name": "x"}) == ("sent", None)
    assert classify_answer(404, error(404, "UNREGISTERED", "NOT_FOUND")) == (
        "unregistered",
        "UNREGISTERED",
    )
    assert classify_answer(429, error(429, "QUOTA_EXCEEDED", "RESOURCE_EXHAUSTED"))[0] == "retry"
    assert classify_answer(503, error(503, None, "UNAVAILABLE")) == ("retry", "UNAVAILABLE")
    assert classify_answer(403, error(403, "SENDER_ID_MISMATCH", "PERMISSION_DENIED")) == (
        "failed",
        "SENDER_ID_MISMATCH",
    )
    assert classify_answer(400, error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"))[0] == "failed"
    assert classify_answer(502, None) == ("retry", "502")


def test_http2_sender_reports_each_fcm_failure_in_one_delivery(
    standin: str, app: firebase_admin.App
) -> None:
    """Every answer of a mixed delivery is classified on its own stream: the unregistered token
    is reported, quota and unavailable are retried, an invalid token fails, the rest is sent."""
    from shared.push.h2_sender import Http2FcmSender
    from shared.push.sender import OutgoingPush

    tokens = ["ok-1", "unregistered-1", "quota-1", "unavailable-1", "invalid-1", "ok-2"]
    pushes = [OutgoingPush(f"d{i}", "android", t, "sync", {}) for i, t in enumerate(tokens)]
    sender = Http2FcmSender(app)
    try:
        results = sender.send(pushes)
    finally:
        sender.close()
    assert [(r.push.token, r.outcome, r.code) for r in results] == [
        ("ok-1", "sent", None),
        ("unregistered-1", "unregistered", "UNREGISTERED"),
        ("quota-1", "retry", "QUOTA_EXCEEDED"),
        ("unavailable-1", "retry", "UNAVAILABLE"),
        ("invalid-1", "failed", "INVALID_ARGUMENT"),
        ("ok-2", "sent", None),
    ]
    assert sorted(m["message"]["token"] for m in _messages(standin)) == sorted(tokens)


def test_http2_sender_opens_a_second_connection_only_when_the_first_is_full(
    standin: str, app: firebase_admin.App
) -> None:
    from shared.push.h2_sender import STREAMS_PER_CONNECTION, Http2FcmSender
    from shared.push.sender import OutgoingPush

    sender = Http2FcmSender(app)
    try:
        for round_ in range(3):  # deliveries that fit in one connection's streams
            batch = [
                OutgoingPush(f"d{i}", "ios", f"tok-{round_}-{i}", "schedule", {})
                for i in range(STREAMS_PER_CONNECTION)
            ]
            assert {r.outcome for r in sender.send(batch)} == {"sent"}
        assert sender.connections_opened == 1
        many = [
            OutgoingPush(f"d{i}", "ios", f"tok-x-{i}", "schedule", {})
            for i in range(3 * STREAMS_PER_CONNECTION)
        ]
        assert {r.outcome for r in sender.send(many)} == {"sent"}
        assert sender.connections_opened == 2
    finally:
        sender.close()
    assert len(_messages(standin)) == 6 * STREAMS_PER_CONNECTION


def test_http2_sender_retries_every_push_when_fcm_cannot_be_reached(seam: str) -> None:
    """A refused connection makes every push of the delivery a retry (Cloud Tasks comes back),
    and none is reported sent."""
    from shared.push.h2_sender import Http2FcmSender
    from shared.push.sender import OutgoingPush

    app = _new_app()
    point_messaging_at(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    sender = Http2FcmSender(app)
    try:
        pushes = [OutgoingPush(f"d{i}", "ios", f"tok-{i}", "schedule", {}) for i in range(300)]
        results = sender.send(pushes)
    finally:
        sender.close()
        point_messaging_at(seam)
        firebase_admin.delete_app(app)
    assert {(r.outcome, r.code) for r in results} == {("retry", "ConnectionRefusedError")}


def test_modelled_latency_keeps_the_other_streams_of_a_connection_moving(
    tmp_path: Path, seam: str
) -> None:
    """With `--latency-ms`, an HTTP/2 connection still answers every stream (answers wait in
    the connection's queue, not in its thread), over one connection."""
    from shared.push.h2_sender import Http2FcmSender
    from shared.push.sender import OutgoingPush

    proc, slow = _slow_standin(tmp_path, "fcm-latency", 50)
    try:
        sender = Http2FcmSender(slow)
        tokens = [f"tok-{i}" for i in range(99)] + ["unregistered-z"]
        results = sender.send([OutgoingPush(t, "ios", t, "schedule", {}) for t in tokens])
        assert [r.outcome for r in results] == ["sent"] * 99 + ["unregistered"]
        assert sender.connections_opened == 1
        sender.close()
    finally:
        point_messaging_at(seam)
        proc.stop()
        firebase_admin.delete_app(slow)


def test_http2_request_with_malformed_headers_is_reset_and_not_recorded(standin: str) -> None:
    """Header lists are validated once per distinct list: a well-formed request is answered, the
    same request with an upper-case header name (malformed in HTTP/2) is reset with
    PROTOCOL_ERROR, each time it comes, and the connection keeps serving."""
    import socket
    from urllib.parse import urlsplit

    from h2.config import H2Configuration
    from h2.connection import H2Connection
    from h2.events import ResponseReceived, StreamReset

    url = urlsplit(standin)
    config = H2Configuration(
        client_side=True, validate_outbound_headers=False, normalize_outbound_headers=False
    )
    conn = H2Connection(config)
    body = b'{"message":{"token":"tok-h","data":{"kind":"sync"}}}'
    good = [
        (":method", "POST"),
        (":scheme", "http"),
        (":authority", url.netloc),
        (":path", f"/v1/projects/{PROJECT}/messages:send"),
        ("content-type", "application/json"),
    ]
    bad = [*good[:4], ("Content-Type", "application/json")]
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        conn.initiate_connection()
        for headers in (good, bad, good, bad):
            stream_id = conn.get_next_available_stream_id()
            conn.send_headers(stream_id, headers)
            conn.send_data(stream_id, body, end_stream=True)
        sock.sendall(conn.data_to_send())
        outcome: dict[int, object] = {}
        while len(outcome) < 4:
            data = sock.recv(65536)
            assert data, "the stand-in closed the connection"
            for event in conn.receive_data(data):
                if isinstance(event, ResponseReceived):
                    outcome[event.stream_id] = dict(event.headers)[b":status"]
                elif isinstance(event, StreamReset):
                    outcome[event.stream_id] = event.error_code
            sock.sendall(conn.data_to_send())
    assert [outcome[i] for i in (1, 3, 5, 7)] == [b"200", 1, b"200", 1]  # 1: PROTOCOL_ERROR
    assert len(_messages(standin)) == 2


def test_http2_sender_gives_up_on_unanswered_requests_and_frees_their_streams(
    tmp_path: Path, seam: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Requests without an answer within the sender's timeout are retries (Cloud Tasks comes
    back), those that waited for a stream included, and their streams are freed: the next
    delivery on the same connection gets every stream again."""
    from shared.push import h2_sender
    from shared.push.sender import OutgoingPush

    proc, slow = _slow_standin(tmp_path, "fcm-slow", 3000)
    sender = h2_sender.Http2FcmSender(slow, max_connections=1)
    try:
        many = h2_sender.STREAMS_PER_CONNECTION + 20  # 20 wait for a stream
        pushes = [OutgoingPush(f"d{i}", "ios", f"tok-{i}", "schedule", {}) for i in range(many)]
        assert sender.send(pushes[:1])[0].outcome == "sent"  # a warm connection, as usual
        monkeypatch.setattr(h2_sender, "TIMEOUT_S", 0.5)
        results = sender.send(pushes)
        assert {(r.outcome, r.code) for r in results} == {("retry", "TimeoutError")}
        monkeypatch.setattr(h2_sender, "TIMEOUT_S", 30.0)
        again = sender.send(pushes[: h2_sender.STREAMS_PER_CONNECTION])
        assert {r.outcome for r in again} == {"sent"}
        assert sender.connections_opened == 1
    finally:
        sender.close()
        point_messaging_at(seam)
        proc.stop()
        firebase_admin.delete_app(slow)


def test_cpu_reports_the_stand_ins_own_cpu_seconds(standin: str) -> None:
    """What the push benchmark reads to tell the stand-in's share of a run: it grows with the
    work the stand-in does."""

    def cpu() -> float:
        return float(requests.get(f"{standin}/cpu", timeout=5).json()["seconds"])

    before = cpu()
    body = {"message": {"token": "tok-cpu", "data": {"kind": "sync"}}}
    with requests.Session() as session:
        for _ in range(200):
            url = f"{standin}/v1/projects/{PROJECT}/messages:send"
            session.post(url, json=body, timeout=5).raise_for_status()
    assert cpu() > before > 0
