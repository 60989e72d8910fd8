"""The mirror's dead letters: list them, and replay them onto `mirror-changes`.

Pub/Sub moves a message that failed `max_delivery_attempts` times to
`mirror-changes-dead-letter`, where the pull subscription `mirror-changes-dead-letter--inspect`
keeps it (7 days by default). Listing pulls and releases (nack: the messages stay). Replaying
republishes each message's body to `mirror-changes` and acks it only once Pub/Sub accepted the
republish, so a replay that dies half-way loses nothing (a message may be replayed twice, which
the mirror's version guards absorb).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from shared.registry import MIRROR_DEAD_LETTER_TOPIC, MIRROR_TOPIC

if TYPE_CHECKING:
    import google.cloud.pubsub_v1 as pubsub_v1

INSPECT_SUBSCRIPTION = f"{MIRROR_DEAD_LETTER_TOPIC}--inspect"
PUBLISH_TIMEOUT_S = 30.0
PULL_TIMEOUT_S = 10.0
_DEAD_LETTER_ATTRIBUTE_PREFIX = "CloudPubSubDeadLetter"


@dataclasses.dataclass(frozen=True)
class DeadLetter:
    message_id: str
    publish_time: str
    delivery_attempts: str | None  # as Pub/Sub recorded them on the way to the dead letters
    summary: str  # what the body is, without user data
    data: bytes
    attributes: dict[str, str]


def summarize(data: bytes) -> str:
    """A one-line description of a message body: its kind and size, or why it is poison."""
    from pydantic import ValidationError

    from shared.sql.events import AccountErased, decode_event

    try:
        event = decode_event(data)
    except ValidationError as err:
        return f"undecodable ({err.error_count()} errors, {len(data)} bytes)"
    if isinstance(event, AccountErased):
        return "account_erased"
    collections = sorted({r.collection for r in event.records})
    return f"changes: {len(event.records)} records ({', '.join(collections)})"


def _subscription(subscriber: pubsub_v1.SubscriberClient, project: str) -> str:
    path: str = subscriber.subscription_path(project, INSPECT_SUBSCRIPTION)
    return path


def _pull(subscriber: pubsub_v1.SubscriberClient, project: str, limit: int) -> list[Any]:
    from google.api_core import exceptions

    try:
        response = subscriber.pull(
            request={"subscription": _subscription(subscriber, project), "max_messages": limit},
            timeout=PULL_TIMEOUT_S,
        )
    except exceptions.DeadlineExceeded:
        return []
    return list(response.received_messages)


def _dead_letter(received: Any) -> DeadLetter:
    message = received.message
    attributes = dict(message.attributes)
    return DeadLetter(
        message_id=message.message_id,
        publish_time=str(message.publish_time),
        delivery_attempts=attributes.get(f"{_DEAD_LETTER_ATTRIBUTE_PREFIX}SourceDeliveryCount"),
        summary=summarize(bytes(message.data)),
        data=bytes(message.data),
        attributes=attributes,
    )


def list_dead_letters(
    subscriber: pubsub_v1.SubscriberClient, project: str, limit: int = 100
) -> list[DeadLetter]:
    """Up to `limit` dead letters, left in place (released right after the pull)."""
    received = _pull(subscriber, project, limit)
    if received:
        subscriber.modify_ack_deadline(
            request={
                "subscription": _subscription(subscriber, project),
                "ack_ids": [r.ack_id for r in received],
                "ack_deadline_seconds": 0,
            }
        )
    return [_dead_letter(r) for r in received]


def replay_dead_letters(
    subscriber: pubsub_v1.SubscriberClient,
    publisher: pubsub_v1.PublisherClient,
    project: str,
    limit: int = 1000,
) -> list[DeadLetter]:
    """Republish up to `limit` dead letters to `mirror-changes`; ack each after its publish."""
    replayed: list[DeadLetter] = []
    topic = publisher.topic_path(project, MIRROR_TOPIC)
    while len(replayed) < limit:
        received = _pull(subscriber, project, min(100, limit - len(replayed)))
        if not received:
            break
        for item in received:
            letter = _dead_letter(item)
            attributes = {
                k: v
                for k, v in letter.attributes.items()
                if not k.startswith(_DEAD_LETTER_ATTRIBUTE_PREFIX)
            }
            attributes["replayedFrom"] = letter.message_id
            publisher.publish(topic, letter.data, **attributes).result(timeout=PUBLISH_TIMEOUT_S)
            subscriber.acknowledge(
                request={
                    "subscription": _subscription(subscriber, project),
                    "ack_ids": [item.ack_id],
                }
            )
            replayed.append(letter)
    return replayed
