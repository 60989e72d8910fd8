"""Clients of Google services, built lazily on first use and then reused by the instance.

Nothing here runs at import time, so deploy-time discovery and cold starts stay cheap. Each is
built once even when a new instance's first requests ask for it at the same moment (`@once`).
Against the local stack the standard emulator variables (`FIRESTORE_EMULATOR_HOST`,
`FIREBASE_AUTH_EMULATOR_HOST`, `PUBSUB_EMULATOR_HOST`) and `FOCUS_TASKS_EMULATOR_HOST` /
`FOCUS_FCM_URL` route every client to loopback.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from shared.once import once
from shared.settings import get_settings

if TYPE_CHECKING:
    from google.cloud import firestore, tasks_v2
    from google.pubsub_v1 import PublisherClient


def _anonymous() -> Any:
    """Credentials for emulators, which take no token."""
    from google.auth.credentials import AnonymousCredentials

    return AnonymousCredentials()  # type: ignore[no-untyped-call]


def _emulated() -> bool:
    return bool(os.environ.get("FIRESTORE_EMULATOR_HOST"))


@once
def firebase_app() -> Any:
    """The default firebase-admin app (Auth, App Check, messaging)."""
    import firebase_admin

    try:
        return firebase_admin.get_app()
    except ValueError:
        pass
    settings = get_settings()
    options = {"projectId": settings.project_id}
    if _emulated() or os.environ.get("FIREBASE_AUTH_EMULATOR_HOST"):
        app = firebase_admin.initialize_app(credential=_anonymous(), options=options)
        if settings.fcm_url:
            from shared.fcm_endpoint import point_messaging_at

            point_messaging_at(settings.fcm_url)
        return app
    app = firebase_admin.initialize_app(options=options)
    if settings.fcm_url:
        from shared.fcm_endpoint import point_messaging_at

        point_messaging_at(settings.fcm_url)
    return app


@once
def firestore_client() -> firestore.Client:
    from google.cloud import firestore

    settings = get_settings()
    if _emulated():
        return firestore.Client(project=settings.project_id, credentials=_anonymous())
    return firestore.Client(project=settings.project_id)


@once
def publisher() -> PublisherClient:
    """Pub/Sub's generated publisher: one `Publish` RPC per call, sent at once.

    Not the library's batching `pubsub_v1.PublisherClient`: every publish of ours is awaited by
    a request (a commit's change records are acknowledged before the client is answered), so
    its batch timer (10 ms here before) and the hand-offs to its batch thread were pure latency;
    our messages are already batched per commit (shared/sql/publisher.py)."""
    from google.pubsub_v1 import PublisherClient

    host = os.environ.get("PUBSUB_EMULATOR_HOST")
    if host:  # what the library's own client does for the emulator
        return PublisherClient(client_options={"api_endpoint": host}, credentials=_anonymous())
    return PublisherClient()


def topic_path(topic: str) -> str:
    return f"projects/{get_settings().project_id}/topics/{topic}"


def publish(topic: str, messages: Sequence[tuple[bytes, Mapping[str, str]]]) -> None:
    """Publish `messages` (data, attributes) to `topic`; return once Pub/Sub took every one.

    Waits `publish_timeout_s` at most in all, retries included (none goes on in the background
    after it). `PublishFailed` when Pub/Sub stalls, refuses connections or keeps answering a
    retryable error; any other error (a missing topic, a denied permission) is a fault of ours
    and propagates as it is.
    """
    import time

    from google.api_core import exceptions, retry

    from shared.errors import PublishFailed

    if not messages:
        return
    timeout = get_settings().publish_timeout_s
    transient = (  # the codes the library itself retries a Publish on
        exceptions.Aborted,
        exceptions.Cancelled,
        exceptions.DeadlineExceeded,
        exceptions.InternalServerError,
        exceptions.ResourceExhausted,
        exceptions.ServiceUnavailable,
        exceptions.Unknown,
    )
    from google.pubsub_v1 import PubsubMessage

    from shared import tracing

    client, path = publisher(), topic_path(topic)
    deadline = time.monotonic() + timeout
    try:
        with tracing.span("pubsub.publish", kind="producer", topic=topic, messages=len(messages)):
            # One request per message: each may be up to 8 MiB and a request takes 10 MB.
            for data, attributes in messages:
                # The consumer continues this trace from the attributes (shared/tracing.py).
                message = PubsubMessage(data=data, attributes=tracing.inject(dict(attributes)))
                left = max(deadline - time.monotonic(), 0.001)
                policy = retry.Retry(
                    predicate=retry.if_exception_type(*transient),
                    initial=0.1,
                    maximum=2.0,
                    multiplier=2.0,
                    timeout=left,
                )
                client.publish(topic=path, messages=[message], retry=policy, timeout=left)
    except (exceptions.RetryError, *transient) as err:
        raise PublishFailed(
            f"{len(messages)} message(s) to {topic} not taken within {timeout:g} s: {err!r}"
        ) from err


@once
def tasks_client() -> tasks_v2.CloudTasksClient:
    from google.cloud import tasks_v2

    host = get_settings().tasks_emulator_host
    if host:
        import grpc
        from google.cloud.tasks_v2.services.cloud_tasks.transports import (
            CloudTasksGrpcTransport,
        )

        channel = grpc.insecure_channel(host)
        return tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))
    return tasks_v2.CloudTasksClient()


def reset_for_tests() -> None:
    """Forget every built client (tests switch projects and emulators between runs)."""
    for cached in (firebase_app, firestore_client, publisher, tasks_client):
        cached.cache_clear()
