"""Creates what the registry declares on the local emulators: topics, push subscriptions, queues.

Production gets the same from Terraform (`infra/`), generated from the same registry.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from shared import registry


def fresh_clients() -> None:
    from shared import clients, container
    from shared.settings import get_settings

    get_settings.cache_clear()
    clients.reset_for_tests()
    container.reset()


def wire_pubsub(project: str, push_endpoint: Callable[[str], str]) -> None:
    """Topics, dead-letter topics with an inspection subscription, and push subscriptions
    that deliver to each function at `push_endpoint(name)`."""
    import google.cloud.pubsub_v1 as pubsub_v1
    from google.api_core import exceptions

    fresh_clients()
    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    for topic in registry.TOPICS:
        with contextlib.suppress(exceptions.AlreadyExists):
            publisher.create_topic(name=publisher.topic_path(project, topic.name))
    for topic in registry.TOPICS:
        if topic.dead_letter_topic is None and topic.name.endswith("dead-letter"):
            # Dead letters are kept for inspection and replay (`focusctl mirror dead-letters`).
            _subscribe(subscriber, project, topic.name, f"{topic.name}--inspect", None, None)
    for fn in registry.FUNCTIONS:
        if fn.kind != "pubsub" or fn.topic is None:
            continue
        topic = registry.topic(fn.topic)
        endpoint = push_endpoint(fn.name)
        _subscribe(
            subscriber,
            project,
            topic.name,
            registry.subscription_name(fn),
            endpoint,
            topic,
        )


def _subscribe(
    subscriber: object,
    project: str,
    topic_name: str,
    name: str,
    push_endpoint: str | None,
    topic: registry.Topic | None,
) -> None:
    import google.cloud.pubsub_v1 as pubsub_v1
    from google.api_core import exceptions
    from google.protobuf import duration_pb2

    assert isinstance(subscriber, pubsub_v1.SubscriberClient)
    request: dict[str, object] = {
        "name": subscriber.subscription_path(project, name),
        "topic": f"projects/{project}/topics/{topic_name}",
        "ack_deadline_seconds": 60,
    }
    if push_endpoint is not None:
        request["push_config"] = {"push_endpoint": push_endpoint}
    if topic is not None:
        request["retry_policy"] = {
            "minimum_backoff": duration_pb2.Duration(seconds=topic.min_backoff_s),
            "maximum_backoff": duration_pb2.Duration(seconds=topic.max_backoff_s),
        }
        if topic.dead_letter_topic is not None:
            request["dead_letter_policy"] = {
                "dead_letter_topic": f"projects/{project}/topics/{topic.dead_letter_topic}",
                "max_delivery_attempts": topic.max_delivery_attempts,
            }
    with contextlib.suppress(exceptions.AlreadyExists):
        subscriber.create_subscription(request=request)


def wire_tasks(project: str, region: str) -> None:
    """One Cloud Tasks queue per registry queue shard, in the stack's region."""
    from google.api_core import exceptions
    from google.cloud import tasks_v2

    from shared.clients import tasks_client

    fresh_clients()
    client = tasks_client()
    parent = f"projects/{project}/locations/{region}"
    for queue in registry.QUEUES:
        for name in queue.shard_names():
            with contextlib.suppress(exceptions.AlreadyExists):
                client.create_queue(
                    parent=parent, queue=tasks_v2.Queue(name=f"{parent}/queues/{name}")
                )
