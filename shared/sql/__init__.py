"""The replication core: PostgreSQL beside Firestore (docs/MIGRATION.md tells the whole story).

- `events`: the mirror topic's events and the content hash (pure, cheap);
- `engine`, `schema`, `store`: the connection, the tables, the upserts, markers and ownership;
- `consumer`, `publisher`, `dead_letters`: the `mirrorChanges` logic, the write path's sink to
  Pub/Sub, and the dead-letter topic.

This layer never imports `shared.migration` nor a capability: each capability's SQL store lives
in its own folder (`shared/<capability>/sql.py`) and builds on this one.
Nothing is re-exported here, so importing one module never loads the others.
"""
