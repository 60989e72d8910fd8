"""Keep mode of `make dev` (`FOCUS_DEV_DATA=keep`): the local stores saved and restored together.

Three parts of the stack hold data: the Firestore and Auth emulators, which start empty, and
PostgreSQL. Restored one without the others they disagree (the mirror holds rows whose Firestore
documents are gone), so they are saved together and brought back together.

At a stop of a stack that was up (Ctrl-C, SIGTERM, a part that died), `save()` writes, while
the parts still run:

    <state>/saved/firestore/      the Firestore emulator's export (its REST `:export`)
    <state>/saved/auth/           the Auth emulator's accounts (firebase-tools' hub export)
    <state>/saved/postgres.dump   pg_dump of the `focus` database
    <state>/saved/manifest.json   written last: a directory without it is no save

into `saved.new/`, then swaps it in whole: `saved/` is always one complete save or none. A save
that fails (a part already dead) leaves the previous one. The next keep-mode start brings back
that save, all three stores from the same moment, however the run in between ended: a run
killed with SIGKILL saves nothing, and its changes are forgotten by all three alike.

The Firestore emulator gives imported documents new update times (the time of the import),
and the mirror's rows carry the versions they were written with, so after an import every row
would look stale to `focusctl mirror reconcile`. `rebase_mirror_versions` moves each row
whose content equals its Firestore document's to that document's new version, through the
mirror's own guarded upsert (what the consumer does when a document is rewritten unchanged).
A row whose content differs keeps its version: that drift was there before the stop, and
reconcile reports it.

Kept in neither mode: Pub/Sub (topics and push subscriptions are made again from the registry;
messages not yet delivered at the stop are lost), the Cloud Tasks emulator (queues are made
again; queued push tasks are lost) and the FCM stand-in's record of what it was sent.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from devstack.process import StackError

if TYPE_CHECKING:
    from google.cloud import firestore

    from devstack.postgres import PostgresCluster
    from shared.sql.store import SqlMirrorStore

MANIFEST = "manifest.json"
_FIRESTORE_EXPORT = "firestore_export"  # the export's name, so its metadata file is known


@dataclasses.dataclass(frozen=True)
class Save:
    """One complete save (its manifest is there)."""

    root: Path

    @property
    def firestore_metadata(self) -> Path:
        """What the Firestore emulator's `--import-data` takes."""
        name = _FIRESTORE_EXPORT
        return self.root / "firestore" / name / f"{name}.overall_export_metadata"

    @property
    def auth_dir(self) -> Path:
        """What firebase-tools' `--import` takes."""
        return self.root / "auth"

    @property
    def postgres_dump(self) -> Path:
        return self.root / "postgres.dump"


def load(saved_dir: Path) -> Save | None:
    """The save in `saved_dir`, or None when there is no complete one."""
    if (saved_dir / MANIFEST).is_file():
        return Save(saved_dir)
    return None


def save(
    saved_dir: Path,
    *,
    project_id: str,
    firestore_port: int,
    auth_hub_port: int,
    postgres: PostgresCluster,
) -> Save:
    """Save the three stores of a running stack; raise StackError (old save kept) on failure."""
    new = saved_dir.with_name(saved_dir.name + ".new")
    shutil.rmtree(new, ignore_errors=True)
    (new / "firestore").mkdir(parents=True)
    try:
        _post(
            f"http://127.0.0.1:{firestore_port}/emulator/v1/projects/{project_id}:export",
            {
                "database": f"projects/{project_id}/databases/(default)",
                "export_directory": str(new / "firestore"),
                "export_name": _FIRESTORE_EXPORT,
            },
            "Firestore",
        )
        _post(
            f"http://127.0.0.1:{auth_hub_port}/_admin/export",
            {"path": str(new / "auth"), "initiatedBy": "devstack", "targets": ["auth"]},
            "Auth",
        )
        postgres.databases.dump(new / "postgres.dump")
        saved_at = datetime.now(UTC).isoformat()
        (new / MANIFEST).write_text(json.dumps({"savedAt": saved_at, "projectId": project_id}))
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise
    shutil.rmtree(saved_dir, ignore_errors=True)
    new.rename(saved_dir)
    return Save(saved_dir)


def _post(url: str, body: dict[str, object], what: str) -> None:
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:  # noqa: S310
            resp.read()
    except OSError as err:  # URLError and HTTPError are OSErrors
        raise StackError(f"{what} export failed: {err}") from err


def rebase_mirror_versions(db: firestore.Client, store: SqlMirrorStore) -> int:
    """After a Firestore import: give every row that equals its document the document's new
    version. Returns how many rows moved."""
    from shared.migration.tools.firestore_source import USERS
    from shared.migration.tools.reconcile import FirestoreUsers
    from shared.sql.events import ChangeBatch, ChangeDataError, content_hash

    users = FirestoreUsers(db)
    moved = 0
    # list_documents also yields users with subcollections and no profile document.
    for ref in db.collection(USERS).list_documents():
        uid = ref.id
        owned = store.ownership.owned_collections(
            uid
        )  # SQL's own data: no Firestore copy to follow
        rows = store.reads.user_snapshot(uid)
        records = []
        for collection, documents in users.read(uid).records.items():
            if collection in owned:
                continue
            for doc_id, record in documents.items():
                row = rows.get(collection, {}).get(doc_id)
                if record is None or record.data is None or row is None:
                    continue
                try:
                    same = row.content_hash == content_hash(collection, record.data)
                except ChangeDataError:
                    continue
                if same and row.version < record.version:
                    records.append(record)
        if records:
            moved += store.writer.apply(
                ChangeBatch(records=records, emitted_at=datetime.now(UTC))
            ).applied
    return moved
