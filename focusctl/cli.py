"""`focusctl`: the operator command line (every operator command lives here).

Where it works (focusctl/target.py, said on stderr before anything is done): run from the
checkout beside `make dev`, on that local stack (its `.local/stack.json`); with emulator variables
in the environment, on those emulators; on a real project only when named, with `--project P`
and Application Default Credentials, plus `FOCUS_SQL_INSTANCE` and `FOCUS_SQL_IAM_USER` (the
operator's own IAM database user) or `FOCUS_POSTGRES_DSN` through the Cloud SQL Auth proxy.
No target, no credentials, a stack that does not answer: one `error:` line and exit 2.

    focusctl mirror migrate                      alembic upgrade head
    focusctl mirror grant-roles                  functions' database users into their roles
    focusctl mirror backfill [...]               copy Firestore into SQL (resumable)
    focusctl mirror reconcile [--repair] [...]   compare, report drift (exit 1), repair
                                                 (incremental; --sample N; --all; --users;
                                                 the jobs: --log-metric --no-fail-on-drift)
    focusctl mirror phase show | set C P [--percent N]
    focusctl mirror dead-letters list | replay
    focusctl smoke --base-url URL [...]          every callable once, for a throwaway user
    focusctl trace show TRACE_ID [--file F]      the spans of one trace, as a tree (local)

Parsing and printing only: what a command checks and does is in shared/migration/tools/ (and
shared/sql/ for the dead letters), where tests call it directly. Over 400 lines because each
command's options and help text are spelled out here.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from google.cloud import firestore

    from shared.sql.store import SqlMirrorStore

ROOT = Path(__file__).resolve().parents[1]

app = typer.Typer(help="Operator commands of the focus backend.", no_args_is_help=True)
mirror = typer.Typer(help="The Firestore -> PostgreSQL mirror.", no_args_is_help=True)
phase_app = typer.Typer(help="Migration phases per collection.", no_args_is_help=True)
dead_app = typer.Typer(help="Mirror messages that failed every delivery.", no_args_is_help=True)
trace_app = typer.Typer(help="Traces recorded by the local stack.", no_args_is_help=True)
app.add_typer(mirror, name="mirror")
app.add_typer(trace_app, name="trace")
mirror.add_typer(phase_app, name="phase")
mirror.add_typer(dead_app, name="dead-letters")


DEFAULT_STACK_FILE = ROOT / ".local" / "stack.json"


@dataclasses.dataclass
class _Choice:
    """The target options of this invocation; the target is resolved on first use, so that
    `--help` anywhere works with no stack and no credentials."""

    project: str | None = None
    local: bool = False
    stack_file: Path | None = None
    resolved: bool = False


_choice = _Choice()


@app.callback()
def _main(
    project: Annotated[
        str | None,
        typer.Option(
            "--project",
            help="Work on this real GCP project, with Application Default Credentials "
            "(never chosen otherwise).",
        ),
    ] = None,
    local: Annotated[
        bool,
        typer.Option("--local", help="Use the running local stack (.local/stack.json)."),
    ] = False,
    stack_file: Annotated[
        Path | None, typer.Option(help="Use the local stack this descriptor describes.")
    ] = None,
) -> None:
    global _choice  # noqa: PLW0603 - one invocation's options (CliRunner reuses the process)
    _choice = _Choice(project, local, stack_file)


def _use_target() -> None:
    """Choose the target (focusctl/target.py), point every client at it, say it on stderr."""
    if _choice.resolved:
        return
    from focusctl.target import TargetError, choose

    try:
        target = choose(
            project=_choice.project,
            local=_choice.local,
            stack_file=_choice.stack_file,
            environ=os.environ,
            default_stack_file=DEFAULT_STACK_FILE,
        )
    except TargetError as err:
        _fail(str(err))
        raise  # unreachable: _fail raises
    target.apply(os.environ)
    from shared import clients
    from shared.settings import get_settings

    get_settings.cache_clear()
    clients.reset_for_tests()  # clients built for another target must not be reused
    _choice.resolved = True
    typer.echo(f"focusctl: target: {target.description}", err=True)


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _db() -> firestore.Client:
    from shared.clients import firestore_client

    _use_target()
    return firestore_client()


def _store(connections: int = 2) -> SqlMirrorStore:
    from shared.settings import get_settings
    from shared.sql.engine import SqlNotConfigured, build_engine
    from shared.sql.store import SqlMirrorStore

    _use_target()
    settings = get_settings().model_copy(update={"sql_pool_size": connections})
    try:
        return SqlMirrorStore(build_engine(settings))
    except SqlNotConfigured as err:
        _fail(str(err))
        raise  # unreachable: _fail raises


def _project() -> str:
    from shared.settings import get_settings

    _use_target()
    return get_settings().project_id


def _bar(total: int | None, desc: str, enabled: bool, unit: str = "doc") -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=f" {unit}", file=sys.stderr, disable=not enabled)


# -- migrate -----------------------------------------------------------------------------------


@mirror.command("migrate")
def migrate() -> None:
    """Apply every pending Alembic migration (alembic upgrade head)."""
    from shared.settings import get_settings
    from shared.sql.schema import upgrade_to_head

    _use_target()
    dsn = get_settings().postgres_dsn
    if not dsn:
        _fail("FOCUS_POSTGRES_DSN is needed (the migrator connects through the Auth proxy)")
    assert dsn is not None
    upgrade_to_head(dsn)
    typer.echo("migrated to head")


@mirror.command("grant-roles")
def grant_roles() -> None:
    """Put each function's IAM database user in its group role (shared/sql/roles.py); run by
    the deploy after `migrate`. Revokes every membership the registry does not name."""
    from shared.sql.roles import converge, wanted_members

    with _store(connections=1).engine.begin() as conn:
        for line in converge(conn, wanted_members(_project())):
            typer.echo(line)
    typer.echo("group roles match the registry")


# -- as N tasks (Cloud Run Jobs) ----------------------------------------------------------------

TaskIndex = Annotated[
    int,
    typer.Option(
        envvar="CLOUD_RUN_TASK_INDEX",
        min=0,
        help="This task's index among --task-count (Cloud Run Jobs set it).",
    ),
]
TaskCount = Annotated[
    int,
    typer.Option(
        envvar="CLOUD_RUN_TASK_COUNT",
        min=1,
        help="How many tasks share the partitions (keep --partitions the same every run).",
    ),
]
Rate = Annotated[
    float | None,
    typer.Option(min=0, help="At most this many Firestore documents/s per task (0: no limit)."),
]
ConnectionBudget = Annotated[
    int | None,
    typer.Option(
        envvar="FOCUS_JOB_SQL_CONNECTIONS",
        min=1,
        help="PostgreSQL connections all tasks together may hold; refused if exceeded.",
    ),
]


def _task(index: int, count: int) -> Any:
    """This task of the job; exit 2 for one that does not exist."""
    from shared.migration.tools.jobs import Task

    try:
        return Task(index, count)
    except ValueError as err:
        _fail(str(err))
        raise  # unreachable: _fail raises


# -- backfill ----------------------------------------------------------------------------------


@mirror.command("backfill")
def backfill(
    collections: Annotated[
        str, typer.Option(help="Comma-separated: users,devices,sessions,schedules.")
    ] = "users,devices,sessions,schedules",
    partitions: Annotated[int, typer.Option(min=1, max=256, help="Parallel ranges.")] = 4,
    page_size: Annotated[int, typer.Option(min=1, max=5000, help="Documents per page.")] = 1000,
    restart: Annotated[bool, typer.Option(help="Forget saved cursors, start over.")] = False,
    progress: Annotated[bool, typer.Option(help="Progress bar on stderr.")] = True,
    task_index: TaskIndex = 0,
    task_count: TaskCount = 1,
    rate: Rate = None,
    connection_budget: ConnectionBudget = None,
) -> None:
    """Copy Firestore into SQL: cursor-paged, parallel, resumable, never overwrites newer rows.

    As a job of N tasks, each task copies the partitions i with i % N == its index."""
    from shared.migration.tools.backfill import StepReport, estimated_total
    from shared.migration.tools.backfill_run import plan_backfill, run_backfill

    try:
        plan = plan_backfill(
            collections,
            partitions,
            page_size,
            restart=restart,
            task=_task(task_index, task_count),
            rate=rate,
            connection_budget=connection_budget,
        )
    except ValueError as err:
        _fail(str(err))
        raise  # unreachable: _fail raises
    db = _db()
    store = _store(plan.pool)

    class Bars:
        def __init__(self) -> None:
            self.bar: Any = None

        def started(self, step: str) -> Any:
            self.bar = _bar(estimated_total(db, step) if progress else None, step, progress)
            return self.bar.update

        def finished(self, step: str, report: StepReport | None) -> None:
            self.bar.close()
            if report is not None:
                typer.echo(
                    f"{step}: read {report.read}, written {report.written}, "
                    f"stale {report.skipped_stale}, erased {report.dropped_erased}, "
                    f"ignored {report.ignored}, resumed partitions {report.resumed_partitions}"
                )

    report = run_backfill(db, store, plan.options, Bars())
    if "sessions" in plan.options.collections:
        typer.echo(f"feed watermarks set: {report.feed_heads_finished}")
    store.engine.dispose()


# -- reconcile ---------------------------------------------------------------------------------


@mirror.command("reconcile")
def reconcile(
    repair: Annotated[bool, typer.Option(help="Write Firestore's truth into SQL.")] = False,
    users: Annotated[str | None, typer.Option(help="Comma-separated uids.")] = None,
    sample: Annotated[int | None, typer.Option(min=1, help="Random sample of users.")] = None,
    every_user: Annotated[
        bool, typer.Option("--all", help="Every user: partitioned, resumable.")
    ] = False,
    incremental: Annotated[
        bool, typer.Option(help="The users changed since the last clean pass (the default).")
    ] = False,
    partitions: Annotated[
        int, typer.Option(min=1, max=256, help="--all: uid ranges (the same every run).")
    ] = 16,
    restart: Annotated[bool, typer.Option(help="--all: start a new pass.")] = False,
    workers: Annotated[int, typer.Option(min=1, max=64)] = 8,
    as_json: Annotated[bool, typer.Option("--json", help="The report as JSON.")] = False,
    log_metric: Annotated[
        bool,
        typer.Option(help="Also log the mirrorDrift metric as a structured line (the jobs)."),
    ] = False,
    fail_on_drift: Annotated[
        bool,
        typer.Option(
            help="Exit 1 on drift. The scheduled jobs pass --no-fail-on-drift (with "
            "--log-metric, which reports it): a completed pass exits 0, so Cloud Run retries "
            "only a pass that failed."
        ),
    ] = True,
    progress: Annotated[bool, typer.Option(help="Progress bar on stderr.")] = True,
    task_index: TaskIndex = 0,
    task_count: TaskCount = 1,
    rate: Rate = None,
    connection_budget: ConnectionBudget = None,
) -> None:
    """Compare Firestore and SQL per user; exit 1 on drift (0 once repaired, or with
    --no-fail-on-drift once reported by --log-metric).

    With --incremental, or no --users, --sample or --all: the incremental pass, the users whose
    documents changed since the last clean pass (per change shard, resumable). --all and the
    incremental pass split their partitions between tasks as backfill does."""
    from shared.migration.tools.reconcile_run import (
        ReconcileRequest,
        reconcile_pool,
        run_reconcile,
    )

    if not fail_on_drift and not log_metric:
        # Drift that exits 0 must be reported somewhere: the metric line and its alert.
        _fail("--no-fail-on-drift needs --log-metric (what reports the drift)")
    try:
        request = ReconcileRequest(
            uids=None if users is None else [u.strip() for u in users.split(",") if u.strip()],
            sample=sample,
            every_user=every_user,
            repair=repair,
            partitions=partitions,
            restart=restart,
            workers=workers,
            task=_task(task_index, task_count),
            rate=rate,
            incremental=incremental,
        )
        pool = reconcile_pool(request, connection_budget)
    except ValueError as err:
        _fail(str(err))
        raise  # unreachable: _fail raises
    db = _db()
    store = _store(pool)
    bar = _bar(None, "reconcile", progress, unit="user")

    def on_total(total: int) -> None:
        bar.total = total
        bar.refresh()

    try:
        report = run_reconcile(db, store, request, bar.update, on_total=on_total)
    finally:
        bar.close()
    store.engine.dispose()
    if log_metric:
        from shared import logs
        from shared.migration.tools.reconcile import log_report

        logs.configure()
        log_report(report, "mirror drift")
    if as_json:
        body = {
            **report.metric(),
            "drifts": [_drift_json(d) for d in report.drifts],
            "remaining": [_drift_json(d) for d in report.remaining],
            "repaired": sum(r.repaired for r in report.results),
        }
        typer.echo(json.dumps(body, indent=2))
    else:
        _print_report(report, repair)
    raise typer.Exit(0 if report.clean or not fail_on_drift else 1)


def _drift_json(drift: Any) -> dict[str, Any]:
    return {
        "uid": drift.uid,
        "collection": drift.collection,
        "id": drift.id,
        "kind": drift.kind,
        "firestoreVersion": drift.firestore_version,
        "sqlVersion": drift.sql_version,
    }


def _print_report(report: Any, repaired: bool) -> None:
    typer.echo(f"users compared: {report.users} in {report.seconds:.1f} s")
    if not report.drifts:
        typer.echo("no drift")
        return
    typer.echo(f"drift: {report.counts()}")
    for drift in report.drifts[:200]:
        typer.echo(
            f"  {drift.kind:8} {drift.collection:9} {drift.uid}/{drift.id} "
            f"firestore={drift.firestore_version} sql={drift.sql_version}"
        )
    if len(report.drifts) > 200:
        typer.echo(f"  ... and {len(report.drifts) - 200} more (--json for all)")
    if repaired:
        total = sum(r.repaired for r in report.results)
        typer.echo(f"repaired: {total}; left: {report.counts(report.remaining) or 'none'}")


# -- phases ------------------------------------------------------------------------------------


SettleOption = Annotated[
    float | None,
    typer.Option(min=0, help="As for `phase set` (default: twice the phase cache)."),
]


def _settle(settle_seconds: float | None) -> float:
    from shared.migration.tools.phase_checks import settle_seconds as default_settle

    _use_target()
    return default_settle(settle_seconds)


@phase_app.command("show")
def phase_show() -> None:
    """The phase of every collection (the users not in the percentage have the one before)."""
    from shared.migration.phases import describe, load_config

    for collection, setting, before in describe(load_config(_db())):
        line = f"{collection:10} {setting.phase:14} {setting.percent:g}% (others: {before})"
        if setting.give_back:
            line += "; being given back to Firestore (`focusctl mirror give-back`)"
        typer.echo(line)


@phase_app.command("set")
def phase_set(
    collection: Annotated[str, typer.Argument(help="users, devices, sessions or schedules")],
    phase: Annotated[str, typer.Argument(help="firestore_only ... sql_only")],
    percent: Annotated[float, typer.Option(min=0, max=100, help="Share of users.")] = 100.0,
    settle_seconds: Annotated[
        float | None,
        typer.Option(
            min=0,
            help="How long sql_primary at 100% must have been in place before sql_only "
            "(default: twice the instances' phase cache; lower only if every instance has "
            "a shorter cache).",
        ),
    ] = None,
) -> None:
    """Move a collection to a phase for a percentage of users (instances follow within 30 s).

    Refused when it could lose acknowledged writes: sql_only only after sql_primary at 100% has
    settled (devices: after take-over-devices), and back from sql_only only to sql_primary at
    100% or a lower sql_only percentage, until `give-back` has run (docs/MIGRATION.md)."""
    from shared.migration.tools.moves import Refused
    from shared.migration.tools.phase_checks import set_phase

    try:
        setting = set_phase(_db(), _store, collection, phase, percent, settle_seconds)
    except (Refused, ValueError) as err:
        _fail(str(err))
        return
    typer.echo(f"{collection}: {setting.phase} at {setting.percent:g}%")


@mirror.command("take-over-devices")
def take_over_devices_command(
    settle_seconds: SettleOption = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
) -> None:
    """Move every device to PostgreSQL: fence device writes, copy devices and token owners.

    Devices must be in sql_primary at 100%, settled; registerDevice answers UNAVAILABLE from
    now until `phase set devices sql_only`, which this makes possible (docs/MIGRATION.md)."""
    from shared.migration.tools.moves import Refused, check_take_over_devices, take_over_devices

    try:
        check_take_over_devices(_db(), _settle(settle_seconds))
    except Refused as err:
        _fail(str(err))
    with _bar(None, "devices and tokens", progress) as bar:
        devices, tokens = take_over_devices(_db(), _store(), bar.update)
    typer.echo(
        f"{devices} devices and {tokens} token owners copied; device writes are fenced until "
        "`focusctl mirror phase set devices sql_only`"
    )


@mirror.command("give-back")
def give_back_command(
    collection: Annotated[str, typer.Argument(help="users, devices, sessions or schedules")],
    settle_seconds: SettleOption = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
) -> None:
    """After a step back from sql_only: give every user SQL still owns back to Firestore.

    Requests give their users back on their own; this takes the rest, then clears the
    collection's give-back, so that it may step further back. Devices go back all at once
    (device writes answer UNAVAILABLE meanwhile). Refused before the step back has settled."""
    from shared.migration.tools.moves import Refused, check_give_back, give_back
    from shared.migration.tools.phase_checks import collection_named

    try:
        name = collection_named(collection)
    except ValueError as err:
        _fail(str(err))
        raise  # unreachable: _fail raises
    db, store = _db(), _store()
    try:
        config = check_give_back(db, name, _settle(settle_seconds))
    except Refused as err:
        _fail(str(err))
        return
    what = "devices and tokens" if collection == "devices" else f"{collection}: users"
    with _bar(None, what, progress) as bar:
        report = give_back(db, store, name, config, bar.update)
    if collection == "devices":
        typer.echo(
            f"{report.devices} devices and {report.tokens} token owners given back to Firestore"
        )
    else:
        typer.echo(f"{report.users} users' {collection} given back to Firestore")
    if report.cleared:
        typer.echo(f"{collection}: give-back finished; it may step further back")
    else:
        typer.echo(f"{collection}: still in sql_only for some users; give-back stays on")


# -- dead letters ------------------------------------------------------------------------------


@dead_app.command("list")
def dead_letters_list(limit: Annotated[int, typer.Option(min=1, max=1000)] = 100) -> None:
    """Show dead letters (they stay where they are)."""
    import google.cloud.pubsub_v1 as pubsub_v1

    from shared.sql.dead_letters import list_dead_letters

    letters = list_dead_letters(pubsub_v1.SubscriberClient(), _project(), limit)
    for letter in letters:
        typer.echo(
            f"{letter.message_id}  {letter.publish_time}  attempts={letter.delivery_attempts}  "
            f"{letter.summary}"
        )
    typer.echo(f"{len(letters)} dead letter(s)")


@dead_app.command("replay")
def dead_letters_replay(limit: Annotated[int, typer.Option(min=1)] = 1000) -> None:
    """Republish dead letters to mirror-changes (each acked once its republish is accepted)."""
    import google.cloud.pubsub_v1 as pubsub_v1

    from shared.sql.dead_letters import replay_dead_letters

    letters = replay_dead_letters(
        pubsub_v1.SubscriberClient(), pubsub_v1.PublisherClient(), _project(), limit
    )
    for letter in letters:
        typer.echo(f"replayed {letter.message_id}: {letter.summary}")
    typer.echo(f"{len(letters)} replayed")


def main() -> None:
    """The `focusctl` command: a target or backend that fails answers one line, exit 2."""
    try:
        app()
    except Exception as err:
        message = _failure_line(err)
        if message is None:
            raise
        sys.stderr.write(f"error: {message}\n")
        sys.exit(2)


@trace_app.command("show")
def trace_show(
    trace_id: Annotated[str, typer.Argument(help="32 hex digits, as in a log line's trace.")],
    file: Annotated[
        Path | None,
        typer.Option(
            envvar="FOCUS_TRACE_FILE",
            help="The spans file (default: the local stack's, .local/dev/traces/spans.jsonl).",
        ),
    ] = None,
) -> None:
    """Print the spans of one trace as a tree; exit 1 when none was recorded.

    In production, traces are in Cloud Trace (the console's Trace explorer, or a log line's
    trace link); this reads what the local stack wrote."""
    from shared.tracing import read_trace, render_tree

    # A log line names it projects/<p>/traces/<id>: take the id either way.
    wanted = trace_id.rsplit("/", 1)[-1].lower()
    path = file or ROOT / ".local" / "dev" / "traces" / "spans.jsonl"
    spans = read_trace(path, wanted)
    if not spans:
        _fail(f"no spans of trace {wanted} in {path}", code=1)
    typer.echo(render_tree(spans))


@app.command("smoke")
def smoke(
    base_url: Annotated[
        str | None,
        typer.Option(help="Where the functions answer (<base>/<name>); default: the target's."),
    ] = None,
    api_key: Annotated[
        str, typer.Option(envvar="FOCUS_SMOKE_API_KEY", help="The project's web API key.")
    ] = "fake-api-key",
    app_id: Annotated[
        str | None,
        typer.Option(envvar="FOCUS_SMOKE_APP_ID", help="Firebase app id of the App Check token."),
    ] = None,
    app_check_debug_token: Annotated[
        str | None,
        typer.Option(
            envvar="FOCUS_SMOKE_APP_CHECK_DEBUG_TOKEN",
            help="A debug token registered for --app-id (where App Check is enforced).",
        ),
    ] = None,
) -> None:
    """Call every callable once for a throwaway user, then erase it; exit 1 on a failure."""
    from focusctl.smoke import SmokeFailure, SmokeTarget, Step, run
    from shared.settings import get_settings

    _use_target()
    settings = get_settings()
    target = SmokeTarget(
        base_url=base_url or settings.base_url,
        project_id=settings.project_id,
        auth_emulator=os.environ.get("FIREBASE_AUTH_EMULATOR_HOST") or None,
        api_key=api_key,
        app_id=app_id,
        app_check_debug_token=app_check_debug_token,
    )

    def report(step: Step) -> None:
        mark = "ok  " if step.ok else "FAIL"
        typer.echo(f"{mark} {step.name:<20} HTTP {step.status} {step.ms:8.1f} ms {step.detail}")

    try:
        steps = run(target, report)
    except SmokeFailure as err:
        _fail(f"smoke test failed: {err}", code=1)
    typer.echo(f"{len(steps)} calls ok against {target.base_url}")


def _failure_line(err: Exception) -> str | None:
    """One line for failures of the environment (credentials, a backend that went away while
    the command ran); None for anything else, a bug, whose traceback is wanted."""
    from google.api_core.exceptions import GoogleAPICallError, RetryError
    from google.auth.exceptions import DefaultCredentialsError, RefreshError
    from sqlalchemy.exc import OperationalError

    first = (str(err).strip().splitlines() or [type(err).__name__])[0]
    if isinstance(err, DefaultCredentialsError | RefreshError):
        return f"credentials: {first}; run `gcloud auth application-default login`"
    if isinstance(err, GoogleAPICallError | RetryError):
        return f"{type(err).__name__} from a Google API: {first}"
    if isinstance(err, OperationalError):
        return f"PostgreSQL: {str(err.orig).strip().splitlines()[0] if err.orig else first}"
    return None


if __name__ == "__main__":
    main()
