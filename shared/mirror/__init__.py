"""The dual-write layer (Firestore -> PostgreSQL); docs/MIGRATION.md tells the whole story.

- `events`: change events and the content hash (pure, cheap: the write path imports it);
- `publisher`: the write path's sink to Pub/Sub; `phased`/`phases`: phase-aware wrappers of the
  stores and where phases are kept;
- `sql_schema`, `sql_store`, `sql_engine`: the PostgreSQL side (SQLAlchemy, imported only where
  SQL is used); `consumer`: the `mirrorChanges` logic;
- `firestore_source`, `backfill`, `reconcile`, `dead_letters`: the operator tools behind
  `focusctl mirror ...` and the scheduled `reconcileMirror`.

Nothing is re-exported here, so importing one module never loads the others.
"""
