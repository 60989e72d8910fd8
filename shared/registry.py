"""The one registry of deployable pieces: functions, topics, subscriptions, queues, jobs, and
each function's SLOs.

The local stack (`devstack`) and Terraform (`infra/`, through the generated
`infra/environments/*/registry.auto.tfvars.json` and the dashboards under
`infra/modules/monitoring/dashboards/`) both follow from this module, so a topic, a queue or an
SLO is declared once. `tests/unit/test_registry.py` keeps `functions/main.py` and the
generated Terraform input in step with it.

Plain dataclasses and no imports beyond the standard library: this module is read at deploy
time and by tooling, and must stay cheap, and it sits below every layer (docs/ARCHITECTURE.md).
Figures computed elsewhere are written here as numbers, with a test that they agree (the push
queues: shared/push/peak.py, `tests/unit/test_push_peak.py`).

Over 400 lines: most of it is the declaration of every function, topic, queue and job, one
entry each with its roles, contract and SLOs; split, the one place that names them all would
be several.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Literal

FunctionKind = Literal["callable", "http", "pubsub"]
# What an SLO measures (docs/OPERATIONS.md says why each target is what it is):
# - availability: share of requests not answered 5xx (for callables: not INTERNAL/UNAVAILABLE),
#   from Cloud Run's request count;
# - latency: share of requests answered within `threshold_ms`, from Cloud Run's latencies;
# - freshness: share of mirrored change batches in SQL within `threshold_ms` of their commit,
#   from the `lagMs` field of the consumer's `mirrorApplied` log line;
# - punctuality: share of schedule pushes handled within `threshold_ms` of their planned time,
#   from the `lateMs` field of `push.delivery` log lines;
# - delivery: share of final FCM answers that are not failures, from `push.send` log lines.
SliKind = Literal["availability", "latency", "freshness", "punctuality", "delivery"]
# Dashboards, one per area (infra/modules/monitoring/dashboards/<area>.json).
Area = Literal["callables", "sync", "mirror", "pushes"]


# Callable error codes every client function may answer: a malformed request, no usable
# identity, an app too old for the contract (docs/API.md, "Versions"), a user over the rate
# limit, data moving between databases, a server fault.
COMMON_ERRORS = (
    "INVALID_ARGUMENT",
    "UNAUTHENTICATED",
    "FAILED_PRECONDITION",
    "RESOURCE_EXHAUSTED",
    "UNAVAILABLE",
    "INTERNAL",
)
WRITE_ERRORS = ("ABORTED",)  # a write that lost its optimistic races (docs/DECISIONS.md)


@dataclasses.dataclass(frozen=True)
class Contract:
    """A callable's part of the client contract, `docs/api/openapi.json` (built by `contract`).

    Models are named `module:Class` so this module stays free of imports; the handler in
    `functions/callables.py` parses `data` with `request` and answers with `result`.
    """

    request: str
    result: str
    summary: str
    errors: tuple[str, ...] = COMMON_ERRORS  # every callable error code it may answer


@dataclasses.dataclass(frozen=True)
class RateLimit:
    """A per-user limit of a callable on top of the default one (`FOCUS_RATE_LIMIT_PER_MINUTE`),
    shared by every instance (shared/ratelimit.py).

    `rate`: the `limits` notation, e.g. "10/hour". `fail_closed`: when the shared store cannot
    be reached, refuse with UNAVAILABLE (costly, rare calls) instead of letting the call through.
    `unless_field`: calls whose data carries this field (non-null) do not count, e.g. the later
    pages of an export, which continue an export already counted.
    """

    rate: str
    fail_closed: bool = False
    unless_field: str | None = None


@dataclasses.dataclass(frozen=True)
class Slo:
    """A service level objective of one function: `goal` of the events are good over
    `period_days` (rolling). Its burn-rate alerts link `docs/runbooks/<runbook>.md`."""

    sli: SliKind
    goal: float
    threshold_ms: int | None = None  # latency, freshness, punctuality
    period_days: int = 28

    @property
    def runbook(self) -> str:
        return RUNBOOKS[self.sli]


# One runbook per kind of alert (docs/runbooks/); the SLO alerts of every function of a kind
# share the runbook of their SLI.
RUNBOOKS: dict[str, str] = {
    "availability": "availability",
    "latency": "latency",
    "freshness": "mirror-freshness",
    "punctuality": "push-punctuality",
    "delivery": "push-delivery",
}
# Alerts that are not SLO burn rates, and their runbooks.
OTHER_ALERTS: dict[str, str] = {
    "dead_letters": "dead-letters",
    "reconcile_drift": "reconcile-drift",
    "mirror_backlog": "mirror-backlog",
}

# A callable answers most calls from one Firestore round trip or transaction; 99.9 % of calls
# without a server fault is what an app that retries with backoff turns into "always works".
CALLABLE_AVAILABILITY = Slo("availability", 0.999)
# Background functions are retried by Pub/Sub or Cloud Tasks; their errors cost delay, not data.
BACKGROUND_AVAILABILITY = Slo("availability", 0.99)


# Callables that read a document or two, commit and publish spend most of a call waiting on
# Firestore, PostgreSQL or Pub/Sub: several calls share an instance (Cloud Run then gives it a
# whole vCPU, infra/modules/functions), so billed instance time is shared by the calls waiting
# in it instead of each paying a third of a vCPU for its own waits (docs/COST.md). The shared
# code is thread-safe already: syncFocusSessions runs 8 calls per instance.
LIGHT_CALLABLE_CONCURRENCY = 8


def callable_slos(latency_ms: int, goal: float = 0.99) -> tuple[Slo, ...]:
    return (CALLABLE_AVAILABILITY, Slo("latency", goal, threshold_ms=latency_ms))


@dataclasses.dataclass(frozen=True)
class Function:
    """One deployed Cloud Function (2nd gen)."""

    name: str
    kind: FunctionKind
    topic: str | None = None  # for kind == "pubsub"
    memory_mb: int = 256
    timeout_s: int = 60
    max_instances: int = 100
    concurrency: int = 1
    roles: tuple[str, ...] = ()  # project roles of the function's own service account
    # PostgreSQL connections each instance may hold (0: it never connects). Functions with it
    # also hold the SQL roles; max_instances x sql_pool over every function is budgeted against
    # max_connections (Terraform's check "sql_connection_budget", docs/MIGRATION.md).
    sql_pool: int = 0
    # Callables: the largest request body taken, bytes, from the function's largest honest
    # request (docs/API.md, "Request size"); a larger one is refused before it is read.
    max_request_bytes: int = 64 * 1024
    # SQL functions that only read: their database user joins `focus_reader` instead of
    # `focus_writer` (shared/sql/roles.py).
    sql_read_only: bool = False
    # Where PUBSUB_PUBLISHER, TASKS_ENQUEUER and TASKS_DELETER apply: Terraform grants them on
    # these topics and on these queues' shards only, never on the project.
    publishes: tuple[str, ...] = ()
    task_queues: tuple[str, ...] = ()
    contract: Contract | None = None  # for kind == "callable"
    # Callables: stricter per-user limits than the default one (docs/API.md, "Rate limits").
    rate_limits: tuple[RateLimit, ...] = ()
    # What its users feel of it, and the dashboard it is drawn on (docs/OPERATIONS.md).
    slos: tuple[Slo, ...] = ()
    area: Area = "callables"


@dataclasses.dataclass(frozen=True)
class Topic:
    name: str
    # Subscription retries end here after `max_delivery_attempts`; `None` for no dead letter.
    dead_letter_topic: str | None = None
    max_delivery_attempts: int = 10
    min_backoff_s: int = 10
    max_backoff_s: int = 600


@dataclasses.dataclass(frozen=True)
class Queue:
    """A Cloud Tasks queue; sharded queues share a prefix and are named `<prefix>-<n>`."""

    name: str
    target_function: str
    max_dispatches_per_second: float = 500.0
    max_concurrent_dispatches: int = 1000
    max_attempts: int = 8
    min_backoff_s: float = 5.0
    max_backoff_s: float = 300.0
    shards: int = 1

    def shard_names(self) -> list[str]:
        if self.shards == 1:
            return [self.name]
        return [f"{self.name}-{i}" for i in range(self.shards)]


@dataclasses.dataclass(frozen=True)
class ScheduledJob:
    """Cloud Scheduler publishes to `topic` on `schedule` (cron, in `time_zone`)."""

    name: str
    schedule: str
    topic: str
    time_zone: str = "Etc/UTC"


REGION = "europe-west1"

FIRESTORE_USER = "roles/datastore.user"
PUBSUB_PUBLISHER = "roles/pubsub.publisher"
TASKS_ENQUEUER = "roles/cloudtasks.enqueuer"
TASKS_DELETER = "roles/cloudtasks.taskDeleter"
SQL_CLIENT = "roles/cloudsql.client"
SQL_INSTANCE_USER = "roles/cloudsql.instanceUser"
# Custom roles (infra/modules/functions/custom_roles.tf) where the predefined ones are admin
# roles: reading and deleting Auth users, sending FCM messages.
AUTH_USER_READER = "custom/focusAuthUserReader"
AUTH_USER_DELETER = "custom/focusAuthUserDeleter"
FCM_SENDER = "custom/focusFcmSender"
LOG_WRITER = "roles/logging.logWriter"
TRACE_AGENT = "roles/cloudtrace.agent"  # spans to Cloud Trace (shared/tracing.py)
ACT_AS = "roles/iam.serviceAccountUser"  # to mint OIDC tokens for Cloud Tasks as the invoker SA

# Every function logs and traces.
_TELEMETRY = (LOG_WRITER, TRACE_AGENT)
# Cloud SQL through the connector with IAM database authentication. Request paths need it from
# `shadow_read` on (reads, then writes, move per phase: docs/MIGRATION.md); one connection per
# instance is enough for them, their SQL statements take milliseconds.
_SQL = (SQL_CLIENT, SQL_INSTANCE_USER)
_CALLABLE_BASE = (FIRESTORE_USER, PUBSUB_PUBLISHER, *_TELEMETRY)
_CALLABLE_SQL = (*_CALLABLE_BASE, *_SQL)
FIRESTORE_VIEWER = "roles/datastore.viewer"
# exportAccount checks the token against Auth (revoked, disabled) and exports what Auth holds:
# users.get.
_EXPORT_ROLES = (FIRESTORE_VIEWER, *_TELEMETRY, AUTH_USER_READER, *_SQL)
# Firestore (marker, data, push plans), the mirror topic (AccountErased), Auth (delete the
# user), Cloud Tasks (cancel pending pushes).
_ERASER_ROLES = (
    FIRESTORE_USER,
    PUBSUB_PUBLISHER,
    *_TELEMETRY,
    AUTH_USER_DELETER,
    TASKS_DELETER,
    *_SQL,
)
ACCOUNT_DELETION_SWEEP_TOPIC = "account-deletion-sweep"
# Schedules and silent pushes (docs/PUSH.md). Creating a task with an OIDC token needs actAs on
# the invoker account; deleting stale tasks needs taskDeleter.
_SCHEDULE_WRITER_ROLES = (*_CALLABLE_SQL, TASKS_ENQUEUER, TASKS_DELETER, ACT_AS)
_SCHEDULE_DELETER_ROLES = (*_CALLABLE_SQL, TASKS_DELETER)
# deliverPush reads schedules and devices, writes push bookkeeping, removes dead tokens (whose
# device change is mirrored) and sends through FCM.
_PUSH_DELIVERY_ROLES = (FIRESTORE_USER, PUBSUB_PUBLISHER, FCM_SENDER, *_TELEMETRY, *_SQL)
_PUSH_REFILL_ROLES = (FIRESTORE_USER, PUBSUB_PUBLISHER, TASKS_ENQUEUER, ACT_AS, *_TELEMETRY)
PUSH_REFILL_TOPIC = "push-refill"
# Sessions sync (docs/SYNC.md): Firestore, the mirror topic, and enqueueing the coalesced
# "sync" push task (actAs for its OIDC token). The purge deletes tombstones of every user and
# publishes its own continuation.
_SYNC_ROLES = (*_CALLABLE_SQL, TASKS_ENQUEUER, ACT_AS)
_PURGE_ROLES = (FIRESTORE_USER, PUBSUB_PUBLISHER, *_TELEMETRY, *_SQL)
PURGE_TOMBSTONES_TOPIC = "purge-tombstones"
# The PostgreSQL mirror (shared/sql, docs/MIGRATION.md). The consumer only writes SQL; the
# reconciler reads Firestore and SQL (and repairs SQL only when asked, from focusctl).
MIRROR_TOPIC = "mirror-changes"
PUSH_SCHEDULE_QUEUE = "push-schedule"  # shared/push/planning.py names them too
PUSH_SYNC_QUEUE = "push-sync"
MIRROR_DEAD_LETTER_TOPIC = "mirror-changes-dead-letter"
_MIRROR_CONSUMER_ROLES = (*_SQL, *_TELEMETRY)

FUNCTIONS: tuple[Function, ...] = (
    Function(
        "bootstrapAccount",
        "callable",
        concurrency=LIGHT_CALLABLE_CONCURRENCY,
        roles=_CALLABLE_SQL,
        publishes=(MIRROR_TOPIC,),
        sql_pool=1,
        contract=Contract(
            "shared.accounts.models:BootstrapAccountRequest",
            "shared.accounts.models:BootstrapAccountResult",
            "Create or update the signed-in user's profile (idempotent).",
            (*COMMON_ERRORS, *WRITE_ERRORS),
        ),
        slos=callable_slos(latency_ms=1000),
    ),
    Function(
        "registerDevice",
        "callable",
        concurrency=LIGHT_CALLABLE_CONCURRENCY,
        roles=_CALLABLE_SQL,
        publishes=(MIRROR_TOPIC,),
        sql_pool=1,
        contract=Contract(
            "shared.devices.models:RegisterDeviceRequest",
            "shared.devices.models:RegisterDeviceResult",
            "Register this app install and its FCM token (upsert).",
            (*COMMON_ERRORS, *WRITE_ERRORS),
        ),
        slos=callable_slos(latency_ms=1000),
    ),
    Function(
        "unregisterDevice",
        "callable",
        concurrency=LIGHT_CALLABLE_CONCURRENCY,
        roles=_CALLABLE_SQL,
        publishes=(MIRROR_TOPIC,),
        sql_pool=1,
        contract=Contract(
            "shared.devices.models:UnregisterDeviceRequest",
            "shared.devices.models:UnregisterDeviceResult",
            "Forget a device and its FCM token.",
            (*COMMON_ERRORS, *WRITE_ERRORS),
        ),
        slos=callable_slos(latency_ms=1000),
    ),
    # Pages are built in memory (at most ~10 MB of JSON, plus reads of 100 sessions at a time).
    Function(
        "exportAccount",
        "callable",
        memory_mb=512,
        timeout_s=120,
        roles=_EXPORT_ROLES,
        sql_pool=1,
        sql_read_only=True,
        # An export reads up to 5,000 documents a page: 10 new exports an hour per user (the
        # pages of an export under way count only against the default limit).
        rate_limits=(RateLimit("10/hour", fail_closed=True, unless_field="cursor"),),
        contract=Contract(
            "shared.privacy.export:ExportAccountRequest",
            "shared.privacy.export:ExportAccountResult",
            "Everything stored about the user, paged by sessions.",
        ),
        # A page reads up to 100 sessions and serialises up to ~10 MB.
        slos=callable_slos(latency_ms=5000),
    ),
    # Erasing a large account takes a while (batches of 500 deletes); a timeout is resumed.
    Function(
        "deleteAccount",
        "callable",
        memory_mb=512,
        timeout_s=540,
        roles=_ERASER_ROLES,
        publishes=(MIRROR_TOPIC,),
        task_queues=(PUSH_SCHEDULE_QUEUE, PUSH_SYNC_QUEUE),
        sql_pool=1,
        # Rare by nature; the retries of one deletion fit easily.
        rate_limits=(RateLimit("10/hour", fail_closed=True),),
        contract=Contract(
            "shared.privacy.erasure:DeleteAccountRequest",
            "shared.privacy.erasure:DeleteAccountResult",
            "Delete the account and every trace of the user.",
            (*COMMON_ERRORS, *WRITE_ERRORS),
        ),
        # Erasing in batches of 500 deletes: a large account takes tens of seconds.
        slos=callable_slos(latency_ms=60_000, goal=0.95),
    ),
    Function(
        "sweepAccountDeletions",
        "pubsub",
        topic=ACCOUNT_DELETION_SWEEP_TOPIC,
        memory_mb=512,
        timeout_s=540,
        max_instances=1,
        roles=_ERASER_ROLES,
        publishes=(MIRROR_TOPIC,),
        task_queues=(PUSH_SCHEDULE_QUEUE, PUSH_SYNC_QUEUE),
        sql_pool=1,
        slos=(BACKGROUND_AVAILABILITY,),
    ),
    # Up to 500 mutations and 500 changes per call; calls mostly wait on Firestore, so several
    # share an instance. Peak ~10k calls/s at ~100 ms each needs ~1,000 in flight (docs/SYNC.md).
    Function(
        "syncFocusSessions",
        "callable",
        memory_mb=512,
        max_instances=1000,
        concurrency=8,
        roles=_SYNC_ROLES,
        publishes=(MIRROR_TOPIC,),
        task_queues=(PUSH_SYNC_QUEUE,),
        sql_pool=1,
        # 500 mutations of ~1 KB (a session with a few dozen blocked apps) is ~0.5 MiB.
        max_request_bytes=2 * 1024 * 1024,
        contract=Contract(
            "shared.sessions.models:SyncFocusSessionsRequest",
            "shared.sessions.models:SyncFocusSessionsResult",
            "Send focus-session mutations and receive the changes since a cursor.",
            (*COMMON_ERRORS, *WRITE_ERRORS),
        ),
        # Every app start and every session edit waits on it (docs/SYNC.md).
        slos=callable_slos(latency_ms=1500),
        area="sync",
    ),
    # Daily; each run stops well inside the push subscription's ack deadline and publishes a
    # continuation when tombstones are left (shared/sessions/repository.py).
    Function(
        "purgeTombstones",
        "pubsub",
        topic=PURGE_TOMBSTONES_TOPIC,
        timeout_s=120,
        max_instances=4,
        roles=_PURGE_ROLES,
        publishes=(MIRROR_TOPIC, PURGE_TOMBSTONES_TOPIC),
        sql_pool=1,
        slos=(BACKGROUND_AVAILABILITY,),
        area="sync",
    ),
    # A schedule may block 500 apps of up to 255 characters: ~130 KB.
    Function(
        "upsertSchedule",
        "callable",
        concurrency=LIGHT_CALLABLE_CONCURRENCY,
        roles=_SCHEDULE_WRITER_ROLES,
        publishes=(MIRROR_TOPIC,),
        task_queues=(PUSH_SCHEDULE_QUEUE,),
        sql_pool=1,
        max_request_bytes=256 * 1024,
        contract=Contract(
            "shared.schedules.models:UpsertScheduleRequest",
            "shared.schedules.models:UpsertScheduleResult",
            "Create or replace a schedule (last writer wins); answers its next occurrences.",
            (*COMMON_ERRORS, *WRITE_ERRORS),
        ),
        slos=callable_slos(latency_ms=1500),
    ),
    Function(
        "deleteSchedule",
        "callable",
        concurrency=LIGHT_CALLABLE_CONCURRENCY,
        roles=_SCHEDULE_DELETER_ROLES,
        publishes=(MIRROR_TOPIC,),
        task_queues=(PUSH_SCHEDULE_QUEUE,),
        sql_pool=1,
        contract=Contract(
            "shared.schedules.models:DeleteScheduleRequest",
            "shared.schedules.models:DeleteScheduleResult",
            "Delete a schedule and cancel its pending pushes.",
            (*COMMON_ERRORS, *WRITE_ERRORS),
        ),
        slos=callable_slos(latency_ms=1500),
    ),
    Function(
        "listSchedules",
        "callable",
        concurrency=LIGHT_CALLABLE_CONCURRENCY,
        roles=(FIRESTORE_VIEWER, *_TELEMETRY, *_SQL),
        sql_pool=1,
        sql_read_only=True,
        contract=Contract(
            "shared.schedules.models:ListSchedulesRequest",
            "shared.schedules.models:ListSchedulesResult",
            "The user's schedules.",
        ),
        slos=callable_slos(latency_ms=1000),
    ),
    # The Cloud Tasks target of every push queue: at the 09:00 peak ~1,700 dispatches/s (4,199
    # at the queues' caps) of ~100-300 ms each (docs/PUSH.md), so many concurrent requests per
    # instance.
    Function(
        "deliverPush",
        "http",
        memory_mb=512,
        timeout_s=60,
        max_instances=300,
        concurrency=80,
        roles=_PUSH_DELIVERY_ROLES,
        publishes=(MIRROR_TOPIC,),
        sql_pool=2,  # in sql_only a delivery reads devices and writes push bookkeeping there
        # It answers 503/429 on purpose for Cloud Tasks to come back (FCM throttling), so the
        # SLOs are what users feel: pushes on time and accepted by FCM, not its status codes.
        slos=(Slo("punctuality", 0.99, threshold_ms=30_000), Slo("delivery", 0.995)),
        area="pushes",
    ),
    # Hourly: extends push plans running short; fans out into parallel slices on its own topic.
    Function(
        "refillPushHorizon",
        "pubsub",
        topic=PUSH_REFILL_TOPIC,
        memory_mb=512,
        timeout_s=540,
        max_instances=16,
        roles=_PUSH_REFILL_ROLES,
        publishes=(PUSH_REFILL_TOPIC,),
        task_queues=(PUSH_SCHEDULE_QUEUE,),
        slos=(BACKGROUND_AVAILABILITY,),
        area="pushes",
    ),
    # Applies change events to PostgreSQL. One apply is a short transaction (~5-20 ms), so a
    # few requests share an instance; 50 x 4 = 200 connections at most, ~10k events/s, far
    # above the write rate.
    Function(
        "mirrorChanges",
        "pubsub",
        topic=MIRROR_TOPIC,
        timeout_s=60,
        max_instances=50,
        concurrency=4,
        roles=_MIRROR_CONSUMER_ROLES,
        sql_pool=4,  # one connection per concurrent apply
        # A 5xx is PostgreSQL unreachable or a timeout; freshness is what SQL reads see.
        slos=(BACKGROUND_AVAILABILITY, Slo("freshness", 0.99, threshold_ms=30_000)),
        area="mirror",
    ),
)

TOPICS: tuple[Topic, ...] = (
    # Change events of every Firestore write, consumed by the PostgreSQL mirror.
    Topic(MIRROR_TOPIC, dead_letter_topic=MIRROR_DEAD_LETTER_TOPIC),
    Topic(MIRROR_DEAD_LETTER_TOPIC),
    # Ticks of the account-deletion sweep (Cloud Scheduler); a failed tick is retried, and the
    # next one comes anyway.
    Topic(ACCOUNT_DELETION_SWEEP_TOPIC, min_backoff_s=60, max_backoff_s=600),
    # Ticks and slices of the push horizon refill; each is idempotent, so redelivery is safe.
    Topic(PUSH_REFILL_TOPIC, min_backoff_s=60, max_backoff_s=600),
    # Ticks of the tombstone purge and its continuations; a purge run is idempotent.
    Topic(PURGE_TOMBSTONES_TOPIC, min_backoff_s=60, max_backoff_s=600),
)

QUEUES: tuple[Queue, ...] = (
    # Schedule pushes, sized in shared/push/peak.py: 13 shards x 323/s = 4,199 tasks/s, 80% of
    # FCM's 600k/min at 1.9 devices per user, each shard at 65% of Cloud Tasks' 500/s per queue.
    Queue(
        PUSH_SCHEDULE_QUEUE,
        "deliverPush",
        max_dispatches_per_second=323,  # peak.SCHEDULE_QUEUE_RATE
        max_concurrent_dispatches=1000,
        max_attempts=8,
        min_backoff_s=5,
        max_backoff_s=300,
        shards=13,  # peak.SCHEDULE_QUEUE_SHARDS (tests/unit/test_push_peak.py)
    ),
    # Sync pushes: a smaller share of FCM's quota, few retries (they are the first to drop).
    Queue(
        PUSH_SYNC_QUEUE,
        "deliverPush",
        max_dispatches_per_second=100,
        max_concurrent_dispatches=200,
        max_attempts=3,
        min_backoff_s=10,
        max_backoff_s=60,
        shards=4,
    ),
)

SCHEDULED_JOBS: tuple[ScheduledJob, ...] = (
    # Resumes interrupted account erasures and re-checks finished ones (shared/privacy/erasure).
    ScheduledJob("sweep-account-deletions", "*/10 * * * *", ACCOUNT_DELETION_SWEEP_TOPIC),
    # Extends the push horizon of schedules planned less than a day ahead (shared/push/refill).
    ScheduledJob("refill-push-horizon", "7 * * * *", PUSH_REFILL_TOPIC),
    # Deletes session tombstones past their retention (>= 30 days, docs/SYNC.md).
    ScheduledJob("purge-tombstones", "23 3 * * *", PURGE_TOMBSTONES_TOPIC),
    # The mirror's reconcile is no function: Cloud Scheduler runs its Cloud Run jobs, the
    # incremental pass and a nightly sample (infra/modules/jobs, docs/MIGRATION.md).
)


def function(name: str) -> Function:
    for fn in FUNCTIONS:
        if fn.name == name:
            return fn
    raise KeyError(name)


def topic(name: str) -> Topic:
    for t in TOPICS:
        if t.name == name:
            return t
    raise KeyError(name)


def queue(name: str) -> Queue:
    for q in QUEUES:
        if q.name == name:
            return q
    raise KeyError(name)


def subscription_name(fn: Function) -> str:
    """The push subscription that delivers a Pub/Sub-triggered function's topic to it."""
    return f"{fn.topic}--{fn.name}"


def as_terraform_vars() -> dict[str, object]:
    """The registry as Terraform input variables (`registry.auto.tfvars.json`)."""
    return {
        "functions": {
            fn.name: {
                "kind": fn.kind,
                "topic": fn.topic,
                "memory_mb": fn.memory_mb,
                "timeout_s": fn.timeout_s,
                "max_instances": fn.max_instances,
                "concurrency": fn.concurrency,
                "roles": list(fn.roles),
                "sql_pool": fn.sql_pool,
                "publishes": list(fn.publishes),
                "task_queues": [
                    shard for name in fn.task_queues for shard in queue(name).shard_names()
                ],
            }
            for fn in FUNCTIONS
        },
        "topics": {
            t.name: {
                "dead_letter_topic": t.dead_letter_topic,
                "max_delivery_attempts": t.max_delivery_attempts,
                "min_backoff_s": t.min_backoff_s,
                "max_backoff_s": t.max_backoff_s,
            }
            for t in TOPICS
        },
        "queues": {
            name: {
                "target_function": q.target_function,
                "max_dispatches_per_second": q.max_dispatches_per_second,
                "max_concurrent_dispatches": q.max_concurrent_dispatches,
                "max_attempts": q.max_attempts,
                "min_backoff_s": q.min_backoff_s,
                "max_backoff_s": q.max_backoff_s,
            }
            for q in QUEUES
            for name in q.shard_names()
        },
        "scheduled_jobs": {
            j.name: {"schedule": j.schedule, "topic": j.topic, "time_zone": j.time_zone}
            for j in SCHEDULED_JOBS
        },
        "slos": {
            slo_key(fn, slo): {
                "function": fn.name,
                "kind": fn.kind,
                "topic": fn.topic,
                "area": fn.area,
                "sli": slo.sli,
                "goal": slo.goal,
                "threshold_ms": slo.threshold_ms,
                "period_days": slo.period_days,
                "runbook": slo.runbook,
            }
            for fn in FUNCTIONS
            for slo in fn.slos
        },
    }


def slo_key(fn: Function, slo: Slo) -> str:
    """The SLO's key in Terraform and, lowercased, its id in Cloud Monitoring."""
    return f"{fn.name}-{slo.sli}"


def render_terraform_vars() -> str:
    return json.dumps(as_terraform_vars(), indent=2, sort_keys=True) + "\n"
