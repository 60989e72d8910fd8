"""HTTP functions: Pub/Sub push targets (scheduled jobs included) and Cloud Tasks targets.

Only thin declarations. Pub/Sub-triggered functions are plain HTTP endpoints reached by push
subscriptions (in production as locally); `pubsub_function` parses the push envelope
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
from typing import TYPE_CHECKING, Any

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
    from firebase_functions import https_fn

    from shared.callable import deploy_options

    spec = registry.function(handler.__name__)

    @functools.wraps(handler)
    def endpoint(request: flask.Request) -> flask.Response:
        from shared import logs, tracing
        from shared.metering import metered

        logs.configure()
        log = logs.get_logger("pubsub")
        started = time.perf_counter()
        outcome = 204
        trace = logs.trace_id_from_headers(request.headers)
        # The publisher's trace continues from the message attributes (shared/tracing.py).
        attributes = tracing.pubsub_attributes(request.get_data(cache=True))
        with (
            tracing.server_span(spec.name, attributes, trace, kind="consumer") as trace,
            logs.request_context(trace, function=spec.name),
            metered() as ops,
        ):
            try:
                body = json.loads(request.get_data(cache=True) or b"null")
                message = parse_push_envelope(body)
                handler(message)
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

    view: Callable[[flask.Request], flask.Response] = https_fn.on_request(**deploy_options(spec))(
        endpoint
    )
    return view


# -- scheduled jobs ----------------------------------------------------------------------------


@pubsub_function
def sweepAccountDeletions(message: PubSubMessage) -> None:
    """Every 10 minutes: resume interrupted account erasures, re-check finished ones."""
    from datetime import timedelta

    from shared import container, logs
    from shared.clock import utcnow

    del message  # a tick carries nothing
    now = utcnow()
    # Stop starting new erasures a minute before the function's timeout.
    budget = timedelta(seconds=registry.function("sweepAccountDeletions").timeout_s - 60)
    report = container.account_eraser().sweep(now, deadline=now + budget)
    fields: dict[str, Any] = dataclasses.asdict(report)
    logs.get_logger("privacy.sweep").info("account deletion sweep", extra={"fields": fields})
    if report.failed:
        # The markers stay due; the next tick retries them. Failing the tick would only make
        # Pub/Sub redeliver it on top of the next one.
        logs.get_logger("privacy.sweep").error("%d erasures failed", report.failed)


@pubsub_function
def purgeTombstones(message: PubSubMessage) -> None:
    """Daily (and its own continuations): delete session tombstones past their retention."""
    from shared import container, logs
    from shared.clients import publish
    from shared.clock import utcnow
    from shared.sessions.service import PURGE_BUDGET_S, purge_tombstones

    del message  # a tick carries nothing
    outcome = purge_tombstones(container.session_store(), utcnow(), PURGE_BUDGET_S)
    fields = dataclasses.asdict(outcome)
    logs.get_logger("sessions.purge").info("tombstone purge", extra={"fields": fields})
    if not outcome.complete:
        # Stopped by its time budget: the next run continues at once rather than tomorrow.
        publish(registry.PURGE_TOMBSTONES_TOPIC, [(b"{}", {})])


# -- silent pushes -----------------------------------------------------------------------------


def http_function(
    handler: Callable[[flask.Request], flask.Response],
) -> Callable[[flask.Request], flask.Response]:
    """Declare a plain HTTP function (a Cloud Tasks target) with its registry options."""
    from firebase_functions import https_fn

    from shared.callable import deploy_options

    spec = registry.function(handler.__name__)
    view: Callable[[flask.Request], flask.Response] = https_fn.on_request(**deploy_options(spec))(
        handler
    )
    return view


@http_function
def deliverPush(request: flask.Request) -> flask.Response:
    """Cloud Tasks target: deliver one silent push (OIDC-authenticated; see shared/push)."""
    from shared.push.endpoint import handle_delivery

    return handle_delivery(request)


@pubsub_function
def refillPushHorizon(message: PubSubMessage) -> None:
    """Hourly (and its own fan-out slices): extend push plans running short."""
    from shared import container
    from shared.clock import utcnow

    # Stop a minute before the function's timeout; the slice publishes its continuation.
    budget_s = registry.function("refillPushHorizon").timeout_s - 60
    container.push_refill().handle(message.data, utcnow(), budget_s)


# -- the PostgreSQL mirror (shared/mirror, docs/MIGRATION.md) ------------------------------------


@pubsub_function
def mirrorChanges(message: PubSubMessage) -> None:
    """Push target of `mirror-changes`: apply one change batch or account erasure to SQL.

    A poison message raises `PoisonMessage` (400) and a transient fault anything else (500):
    both are retried by Pub/Sub and dead-lettered after the topic's `max_delivery_attempts`.
    """
    from shared import logs
    from shared.clock import utcnow
    from shared.mirror.consumer import handle_message
    from shared.mirror.sql_engine import mirror_store

    log = logs.get_logger("mirror.consumer")
    fields: dict[str, Any] = {"messageId": message.message_id}
    if "deliveryAttempt" in message.attributes:
        fields["deliveryAttempt"] = message.attributes["deliveryAttempt"]
    try:
        outcome = handle_message(message.data, mirror_store(), utcnow())
    except ValueError as err:
        log.warning("mirror: poison message", extra={"fields": {**fields, "error": str(err)}})
        raise
    log.info("mirror: applied", extra={"fields": {**fields, **outcome.log_fields()}})


@pubsub_function
def reconcileMirror(message: PubSubMessage) -> None:
    """Scheduled: compare a sample of users between Firestore and SQL, log `mirrorDrift`."""
    from shared.mirror.reconcile import run_scheduled_reconcile

    run_scheduled_reconcile(message.data)
