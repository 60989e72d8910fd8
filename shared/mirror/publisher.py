"""The production `ChangeSink`: publishes change records to the `mirror-changes` topic.

Records of one commit travel together as one `ChangeBatch` message (split only when a message
would exceed Pub/Sub's size limit); `publish` returns after Pub/Sub acknowledged every message,
so a client is answered only once its changes are on their way to PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.mirror.events import ChangeRecord

MIRROR_TOPIC = "mirror-changes"
MAX_MESSAGE_BYTES = 8 * 1024 * 1024  # Pub/Sub accepts 10 MB; keep headroom for attributes
PUBLISH_TIMEOUT_S = 30.0


class PubSubChangeSink:
    def publish(self, records: Sequence[ChangeRecord]) -> None:
        if not records:
            return
        from shared.clients import publisher, topic_path
        from shared.clock import utcnow
        from shared.mirror.events import ChangeBatch, encode

        client = publisher()
        topic = topic_path(MIRROR_TOPIC)
        futures = []
        for chunk in _split(list(records)):
            payload = encode(ChangeBatch(records=chunk, emitted_at=utcnow()))
            futures.append(client.publish(topic, payload, uid=chunk[0].uid))
        for future in futures:
            future.result(timeout=PUBLISH_TIMEOUT_S)


def _split(records: list[ChangeRecord]) -> list[list[ChangeRecord]]:
    """Chunks whose encoded size stays under the message limit."""
    chunks: list[list[ChangeRecord]] = []
    current: list[ChangeRecord] = []
    size = 0
    for record in records:
        record_size = len(record.model_dump_json())
        if current and size + record_size > MAX_MESSAGE_BYTES:
            chunks.append(current)
            current, size = [], 0
        current.append(record)
        size += record_size
    if current:
        chunks.append(current)
    return chunks
