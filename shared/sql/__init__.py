"""The replication core: PostgreSQL beside Firestore (docs/MIGRATION.md tells the whole story).

- `events`: the mirror topic's events and the content hash (pure, cheap);
- `engine`, `schema`: the connection and the tables;
- `store`: one handle on the mirror's database, its parts by job: `writes` (the upserts,
  markers, fence and erasure), `feeds` (the session feed's watermark and feed-ordered reads),
  `snapshots` (per-user reads), `state` (operator state), `ownership` (who owns what, locks);
- `consumer`, `publisher`, `dead_letters`: the `mirrorChanges` logic, the write path's sink to
  Pub/Sub, and the dead-letter topic.

This layer never imports `shared.migration` nor a capability: each capability's SQL store lives
in its own folder (`shared/<capability>/sql.py`) and builds on this one.
Nothing is re-exported here, so importing one module never loads the others.
"""
