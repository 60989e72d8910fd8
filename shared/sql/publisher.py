"""The production `ChangeSink`: publishes change records to the `mirror-changes` topic (and
`PubSubMirrorEraser`, the production `MirrorEraser` of shared/privacy/erasure.py, its erasures).

Records of one commit travel together as one `ChangeBatch` message (split only when a message
would exceed Pub/Sub's size limit); `publish` returns after Pub/Sub acknowledged every message,
so a client is answered only once its changes are on their way to PostgreSQL. When Pub/Sub does
not take them within `publish_timeout_s` the write answers `UNAVAILABLE` (its commit stands) and
the app's retry with the same mutation ids republishes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.changes import ChangeRecord

MIRROR_TOPIC = "mirror-changes"
MAX_MESSAGE_BYTES = 8 * 1024 * 1024  # Pub/Sub accepts 10 MB; keep headroom for attributes


class PubSubChangeSink:
    def publish(self, records: Sequence[ChangeRecord]) -> None:
        if not records:
            return
        from shared.clients import publish
        from shared.clock import utcnow
        from shared.sql.events import ChangeBatch, encode

        messages = [
            (encode(ChangeBatch(records=chunk, emitted_at=utcnow())), {"uid": chunk[0].uid})
            for chunk in _split(list(records))
        ]
        publish(MIRROR_TOPIC, messages)  # PublishFailed: the caller answers UNAVAILABLE


class PubSubMirrorEraser:
    """`MirrorEraser` on the dual-write path: an `AccountErased` event on the mirror topic.

    The mirror consumer applies it with `MirrorWriter.erase_user` (shared/sql/writes.py), which
    also records the erasure (by uid hash) so that change events still in flight cannot bring
    rows back.
    """

    def erase_user(self, uid: str, version: int) -> None:
        from shared.clients import publish
        from shared.sql.events import AccountErased, encode

        publish(MIRROR_TOPIC, [(encode(AccountErased(uid=uid, version=version)), {})])

    def newest_version(self, uid: str) -> int:
        """0: on this path SQL only copies Firestore, whose versions the last commit covers."""
        del uid
        return 0


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
