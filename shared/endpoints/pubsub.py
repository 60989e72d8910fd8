"""Pub/Sub push targets (scheduled jobs included): `pubsub_function` declares one.

Pub/Sub-triggered functions are plain HTTP endpoints reached by push subscriptions (in
production as locally); `pubsub_function` parses the push envelope
`{"message": {"data": b64, "attributes", "messageId", "publishTime"}, "subscription"}` and maps
the outcome onto what Pub/Sub understands: 204 acknowledges; 400 for a malformed message (with a
dead-letter policy it ends there instead of being retried forever); 500 makes Pub/Sub retry.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import json
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from shared import registry

if TYPE_CHECKING:
    import flask


@dataclasses.dataclass(frozen=True)
class PubSubMessage:
    """One message of a Pub/Sub push request."""

    data: bytes
    attributes: Mapping[str, str]
    message_id: str
    publish_time: str | None
    subscription: str | None


class MalformedMessage(ValueError):
    """The push request is not a Pub/Sub envelope, or its message cannot be handled ever."""


def parse_push_envelope(body: object) -> PubSubMessage:
    """The message of a push request body (already JSON-decoded); `MalformedMessage` if not."""
    if not isinstance(body, dict) or not isinstance(body.get("message"), dict):
        raise MalformedMessage("not a Pub/Sub push envelope")
    message = body["message"]
    raw = message.get("data", "")
    attributes = message.get("attributes") or {}
    if not isinstance(raw, str) or not isinstance(attributes, dict):
        raise MalformedMessage("malformed message")
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedMessage("message data is not base64") from None
    subscription = body.get("subscription")
    publish_time = message.get("publishTime")
    return PubSubMessage(
        data=data,
        attributes={str(k): str(v) for k, v in attributes.items()},
        message_id=str(message.get("messageId") or message.get("message_id") or ""),
        publish_time=publish_time if isinstance(publish_time, str) else None,
        subscription=subscription if isinstance(subscription, str) else None,
    )


def _respond(status: int) -> flask.Response:
    import flask

    return flask.Response(status=status)


def pubsub_function(
    handler: Callable[[PubSubMessage], None],
) -> Callable[[flask.Request], flask.Response]:
    """Declare a Pub/Sub push target; its name is the handler's name, looked up in the registry.

    The handler raises `MalformedMessage` for a message that can never succeed (answered 400);
    any other exception is logged and answered 500, so Pub/Sub redelivers.
    """
    from shared.endpoints.options import describe

    spec = registry.function(handler.__name__)

    @functools.wraps(handler)
    def endpoint(request: flask.Request) -> flask.Response:
        from shared import logs, tracing
        from shared.metering import metered
        from shared.push import auth as push_auth

        logs.configure()
        log = logs.get_logger("pubsub")
        started = time.perf_counter()
        outcome = 204
        trace = logs.trace_id_from_headers(request.headers)
        refused: push_auth.PushRefused | None = None
        try:
            push_auth.check_push(request)  # before anything of the body is read
        except push_auth.PushRefused as err:
            refused = err
        # The publisher's trace continues from the message attributes (shared/tracing.py).
        attributes = {} if refused else tracing.pubsub_attributes(request.get_data(cache=True))
        with (
            tracing.server_span(spec.name, attributes, trace, kind="consumer") as trace,
            logs.request_context(trace, function=spec.name),
            metered() as ops,
        ):
            try:
                if refused is not None:
                    raise refused
                body = json.loads(request.get_data(cache=True) or b"null")
                message = parse_push_envelope(body)
                handler(message)
            except push_auth.PushRefused as err:
                outcome = err.status
                log.warning("%s: push refused: %s", spec.name, err)
            except (MalformedMessage, ValueError) as err:
                outcome = 400
                log.warning("%s: malformed message: %s", spec.name, err)
            except Exception:
                outcome = 500
                log.exception("%s failed; Pub/Sub will redeliver", spec.name)
            finally:
                log.info(
                    "%s %s",
                    spec.name,
                    outcome,
                    extra={
                        "fields": {
                            "function": spec.name,
                            "status": outcome,
                            "latencyMs": round((time.perf_counter() - started) * 1000, 1),
                            "firestore": ops.as_dict(),
                        }
                    },
                )
        return _respond(outcome)

    # The endpoint is the view itself, as for `http_function` (shared/endpoints/http.py).
    describe(endpoint, spec, callable_=False)
    return endpoint
