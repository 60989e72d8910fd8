"""The HTTP side of `deliverPush`: authenticate Cloud Tasks, parse the task, answer its status.

Cloud Tasks retries any answer outside 2xx with the queue's backoff, so the status is the whole
protocol: 204 done (sent, or nothing to send), 429/503 retry later, 400 a body that is not a task
(a bug: it is retried up to the queue's max attempts, visibly), 401/403 not Cloud Tasks, 500 an
unexpected fault (retried).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from shared import logs, tracing

if TYPE_CHECKING:
    import flask

    from shared.push.delivery import DeliveryService


def handle_delivery(
    request: flask.Request, service: Callable[[], DeliveryService]
) -> flask.Response:
    """Answer one Cloud Tasks request; `service` builds the delivery service (the composition
    root's, passed in by the entry point), once the request is authenticated."""
    import flask
    from pydantic import ValidationError

    from shared.clock import utcnow
    from shared.metering import metered
    from shared.push.auth import authenticate
    from shared.push.planning import decode_body
    from shared.settings import get_settings

    logs.configure()
    log = logs.get_logger("push.endpoint")
    started = time.perf_counter()
    status = 500
    fields: dict[str, object] = {
        "function": "deliverPush",
        "taskName": request.headers.get("X-CloudTasks-TaskName"),
        "retryCount": request.headers.get("X-CloudTasks-TaskRetryCount"),
    }
    trace = logs.trace_id_from_headers(request.headers)
    with (
        tracing.server_span("deliverPush", request.headers, trace) as trace,
        logs.request_context(trace, function="deliverPush"),
        metered() as ops,
    ):
        try:
            if request.method != "POST":
                status = 405
                return flask.Response(status=status)
            headers = {name.lower(): value for name, value in request.headers.items()}
            auth = authenticate(headers, get_settings())
            if not auth.ok:
                status = auth.status
                fields["refused"] = auth.reason
                return flask.Response(status=status)
            try:
                task = decode_body(request.get_data(cache=True))
            except (ValidationError, ValueError) as err:
                status = 400
                fields["malformed"] = str(err)[:300]
                return flask.Response(status=status)
            report = service().deliver(task, utcnow())
            status = report.status
            fields.update(report.as_fields())
            return flask.Response(status=status)
        except Exception:
            status = 500
            log.exception("deliverPush failed; Cloud Tasks will retry")
            return flask.Response(status=status)
        finally:
            fields.update(
                {
                    "status": status,
                    "latencyMs": round((time.perf_counter() - started) * 1000, 1),
                    "firestore": ops.as_dict(),
                }
            )
            level = log.warning if status >= 400 else log.info
            level("deliverPush %s", status, extra={"fields": fields})
