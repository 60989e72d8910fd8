"""`deleteAccount`: erase every trace of a user, in steps that are each safe to repeat.

The marker `accountDeletions/{sha256(uid)}` (see shared/accounts/deletion.py) drives it:

1. mark: `{uid, requestedAt, state: "erasing", sweepAt}`; from here on, writing calls with a
   token issued before `requestedAt` are refused; then `requestedAt` is copied onto the user's
   sync feed head, where the syncs (most calls) find it in the read they make anyway
   (shared/sessions/repository.py), without reading the marker;
2. cancel the user's pending pushes (`PushCanceller`);
3. delete the user's `fcmTokens` documents;
4. delete the whole `users/{uid}` tree, in batches (rerunning deletes what is left);
5. erase the user's mirrored rows in PostgreSQL (`MirrorEraser`, an `AccountErased` event);
6. delete the Auth user (already gone counts as done);
7. state `erased`, `sweepAt` = the re-check time.

A crash anywhere leaves the marker in `erasing`: a retry of `deleteAccount` (the old token still
verifies) or the sweep resumes it, and every step is idempotent. A write that passed the guard
just before the marker existed may still commit after step 4, up to the longest function timeout
later (`race_window`); so once that window has passed, the sweep runs steps 3-5 once more, then
sets state `done`, removes the `uid` field and sets `expireAt` (Firestore TTL) for when no old
token can be valid any more. Until that re-check the marker is the one place that still holds the
uid; afterwards only its hash remains, and only until `expireAt`.

The same uid may come back (custom-token or admin-created accounts). The Auth user's creation time
tells: if the Auth user exists and was created after `requestedAt`, the account was re-created,
and a resumed or re-checked erasure touches only documents last written before that creation and
neither the new Auth user nor its pushes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Literal, Protocol

from pydantic import AfterValidator, Field

from shared.accounts.deletion import issued_before
from shared.wire import WireModel

State = Literal["erasing", "erased", "done"]

# A marker still `erasing` this long after its last step started is resumed by the sweep; longer
# than deleteAccount's own timeout, so the sweep does not race a call that is still working.
STUCK_AFTER = timedelta(minutes=10)
# ID tokens live one hour; the marker must outlive every token issued before `requestedAt`.
MARKER_TTL_AFTER_DONE = timedelta(hours=2)
CLOCK_SKEW = timedelta(seconds=60)
START_ATTEMPTS = 4


def race_window() -> timedelta:
    """How long after the marker a write that passed the guard before it may still commit:
    the longest timeout of any deployed function, plus clock skew."""
    from shared import registry

    longest = max((fn.timeout_s for fn in registry.FUNCTIONS), default=60)
    return timedelta(seconds=longest) + CLOCK_SKEW


def _must_be_true(value: bool) -> bool:
    if value is not True:
        raise ValueError("must be true to delete the account")
    return value


class DeleteAccountRequest(WireModel):
    # Not Literal[True]: a literal also matches 1, which equals True in Python.
    confirm: Annotated[
        bool, AfterValidator(_must_be_true), Field(json_schema_extra={"const": True})
    ]


class DeleteAccountResult(WireModel):
    deleted: bool


@dataclasses.dataclass(frozen=True)
class Marker:
    """An `accountDeletions` document as read (or just written)."""

    key: str  # sha256(uid), the document id
    uid: str | None  # None once the erasure is done
    requested_at: datetime
    state: State
    update_time: datetime  # precondition of the next marker write


# -- ports -------------------------------------------------------------------------------------


class ErasureStore(Protocol):
    """The Firestore side: the marker and the user's documents."""

    def get_marker(self, uid: str) -> Marker | None: ...

    def start(
        self, uid: str, requested_at: datetime, previous: Marker | None, sweep_at: datetime
    ) -> Marker | None:
        """Write an `erasing` marker (replacing `previous` if it is unchanged); None if another
        writer changed the marker meanwhile."""

    def flag_feed_head(self, uid: str, requested_at: datetime) -> None:
        """Copy `requested_at` onto the user's sync feed head, if there is one; idempotent."""

    def delete_tokens(self, uid: str, cutoff: datetime | None) -> int:
        """Delete the user's `fcmTokens` documents (only those last written before `cutoff` when
        given); returns how many."""

    def delete_user_data(self, uid: str, cutoff: datetime | None) -> datetime | None:
        """Delete `users/{uid}` and everything under it (only documents last written before
        `cutoff` when given), in batches; returns the last commit time, None if nothing left."""

    def advance(
        self,
        marker: Marker,
        state: State,
        *,
        sweep_at: datetime | None,
        expire_at: datetime | None,
        keep_uid: bool,
    ) -> bool:
        """Move the marker on if unchanged since `marker.update_time`; False otherwise."""

    def due(self, now: datetime, limit: int) -> list[Marker]:
        """Markers whose `sweepAt` has passed, oldest first."""


class PushCanceller(Protocol):
    def cancel_user(self, uid: str) -> None:
        """Cancel every pending push of `uid` (scheduled Cloud Tasks); idempotent."""


class MirrorEraser(Protocol):
    def erase_user(self, uid: str, version: int) -> None:
        """Erase every mirrored row of `uid` with a version <= `version` (microseconds since the
        epoch), durably handed over when this returns; idempotent."""

    def newest_version(self, uid: str) -> int:
        """The newest version SQL holds of `uid` where SQL serves the user (`sql_primary` and
        later; in `sql_only` SQL makes versions with its own clock); 0 elsewhere."""


class AuthUsers(Protocol):
    def created_at(self, uid: str) -> datetime | None:
        """Creation time of the Auth user `uid`, None when there is none."""

    def delete_user(self, uid: str) -> None:
        """Delete the Auth user; no error when it is already gone."""


# -- the eraser --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SweepReport:
    resumed: int = 0
    rechecked: int = 0
    failed: int = 0


class AccountEraser:
    """Runs the erasure steps against the ports; `clock` is read after each step that needs it."""

    def __init__(
        self,
        store: ErasureStore,
        auth: AuthUsers,
        mirror: MirrorEraser,
        pushes: PushCanceller,
        clock: Callable[[], datetime],
        window: timedelta | None = None,
    ) -> None:
        self._store = store
        self._auth = auth
        self._mirror = mirror
        self._pushes = pushes
        self._clock = clock
        self._window = window if window is not None else race_window()

    def delete_account(self, uid: str, auth_time: datetime | None) -> None:
        """Erase the account of the caller; a retry with the same (old) token is a no-op once
        the erasure has run, and resumes it while it is unfinished."""
        marker = None
        for _ in range(START_ATTEMPTS):
            existing = self._store.get_marker(uid)
            if existing is not None and issued_before(auth_time, existing.requested_at):
                if existing.state != "erasing":
                    return  # already erased: answer the retry as the first call was answered
                marker = existing
                break
            now = self._clock()
            marker = self._store.start(uid, now, existing, sweep_at=now + STUCK_AFTER)
            if marker is not None:
                break
        if marker is None:
            from shared.errors import Conflict

            raise Conflict("The account is being deleted by another request; retry.")
        self._erase(marker, uid)

    def sweep(
        self, now: datetime, limit: int = 100, deadline: datetime | None = None
    ) -> SweepReport:
        """Resume stuck erasures and run the final re-check of finished ones."""
        from shared import logs

        log = logs.get_logger("privacy.sweep")
        resumed = rechecked = failed = 0
        for marker in self._store.due(now, limit):
            if deadline is not None and self._clock() >= deadline:
                break
            try:
                if marker.uid is None:  # cannot happen through this module; finish it anyway
                    self._finish(marker)
                    continue
                self._erase(marker, marker.uid)
            except Exception:
                failed += 1
                log.exception("erasure of marker %s failed; the next sweep retries", marker.key)
                continue
            if marker.state == "erasing":
                resumed += 1
            else:
                rechecked += 1
        return SweepReport(resumed=resumed, rechecked=rechecked, failed=failed)

    def _erase(self, marker: Marker, uid: str) -> None:
        created = self._auth.created_at(uid)
        # An Auth user created after the request is a new account with the same uid: leave it
        # and what it wrote alone.
        cutoff = created if created is not None and created > marker.requested_at else None
        if cutoff is None and marker.state == "erasing":
            # Before anything is erased; a resumed run flags again (a crash may have come
            # between the marker and the flag). The re-check has no head to flag.
            self._store.flag_feed_head(uid, marker.requested_at)
        if cutoff is None:
            self._pushes.cancel_user(uid)
        self._store.delete_tokens(uid, cutoff)
        last_commit = self._store.delete_user_data(uid, cutoff)
        if cutoff is None:
            # Everything the account wrote, whichever clock versioned it: ours, Firestore's (its
            # last commit may be ahead of ours) and SQL's in `sql_only` (docs/MIGRATION.md,
            # "Versions and clocks").
            ours = _micros(self._clock())
            firestore = _micros(last_commit) if last_commit is not None else 0
            version = max(ours, firestore, self._mirror.newest_version(uid))
        else:
            version = _micros(cutoff)
        self._mirror.erase_user(uid, version)
        if cutoff is None:
            self._auth.delete_user(uid)
        if marker.state == "erasing":
            recheck_at = max(self._clock(), marker.requested_at + self._window)
            self._store.advance(
                marker, "erased", sweep_at=recheck_at, expire_at=None, keep_uid=True
            )
        else:
            self._finish(marker)

    def _finish(self, marker: Marker) -> None:
        expire_at = self._clock() + MARKER_TTL_AFTER_DONE
        self._store.advance(marker, "done", sweep_at=None, expire_at=expire_at, keep_uid=False)


def _micros(value: datetime) -> int:
    from shared.changes import version_from_timestamp

    return version_from_timestamp(value)


def delete_account(
    eraser: AccountEraser, uid: str, auth_time: datetime | None, request: DeleteAccountRequest
) -> DeleteAccountResult:
    """`deleteAccount`: `request.confirm` is `true` by validation."""
    del request
    eraser.delete_account(uid, auth_time)
    return DeleteAccountResult(deleted=True)
