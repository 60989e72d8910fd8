"""HTTP functions: Pub/Sub push targets (scheduled jobs included) and Cloud Tasks targets.

Only thin declarations; the trigger plumbing is in shared/endpoints/ (`pubsub_function` in
pubsub.py: the push envelope and the 204/400/500 answers Pub/Sub understands; `http_function`
in http.py).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from shared import registry
from shared.endpoints.http import http_function
from shared.endpoints.pubsub import PubSubMessage, pubsub_function

if TYPE_CHECKING:
    import flask


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


@http_function
def deliverPush(request: flask.Request) -> flask.Response:
    """Cloud Tasks target: deliver one silent push (OIDC-authenticated; see shared/push)."""
    from shared import container
    from shared.push.endpoint import handle_delivery

    return handle_delivery(request, container.push_delivery)


@pubsub_function
def refillPushHorizon(message: PubSubMessage) -> None:
    """Hourly (and its own fan-out slices): extend push plans running short."""
    from shared import container
    from shared.clock import utcnow

    # Stop a minute before the function's timeout; the slice publishes its continuation.
    budget_s = registry.function("refillPushHorizon").timeout_s - 60
    container.push_refill().handle(message.data, utcnow(), budget_s)


# -- the PostgreSQL mirror (shared/sql, shared/migration, docs/MIGRATION.md) ---------------------


@pubsub_function
def mirrorChanges(message: PubSubMessage) -> None:
    """Push target of `mirror-changes`: apply one change batch or account erasure to SQL.

    A poison message raises `PoisonMessage` (400) and a transient fault anything else (500):
    both are retried by Pub/Sub and dead-lettered after the topic's `max_delivery_attempts`.
    """
    from shared import container, logs
    from shared.clock import utcnow

    log = logs.get_logger("mirror.consumer")
    fields: dict[str, Any] = {"messageId": message.message_id}
    if "deliveryAttempt" in message.attributes:
        fields["deliveryAttempt"] = message.attributes["deliveryAttempt"]
    try:
        outcome = container.mirror_consumer()(message.data, utcnow())
    except ValueError as err:
        log.warning("mirror: poison message", extra={"fields": {**fields, "error": str(err)}})
        raise
    log.info("mirror: applied", extra={"fields": {**fields, **outcome.log_fields()}})
