"""The one registry of deployable pieces: functions, topics, subscriptions, queues, jobs.

The local stack (`devstack`) and Terraform (`infra/`, through the generated
`infra/environments/*/registry.auto.tfvars.json`) both follow from this module, so a topic or a
queue is declared once. `tests/unit/test_registry.py` keeps `functions/main.py` and the
generated Terraform input in step with it.

Plain dataclasses and no imports beyond the standard library: this module is read at deploy
time and by tooling, and must stay cheap.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Literal

FunctionKind = Literal["callable", "http", "pubsub"]


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
AUTH_ADMIN = "roles/firebaseauth.admin"
FCM_SENDER = "roles/firebasecloudmessaging.admin"
LOG_WRITER = "roles/logging.logWriter"
ACT_AS = "roles/iam.serviceAccountUser"  # to mint OIDC tokens for Cloud Tasks as the invoker SA

_CALLABLE_BASE = (FIRESTORE_USER, PUBSUB_PUBLISHER, LOG_WRITER)

FUNCTIONS: tuple[Function, ...] = (Function("bootstrapAccount", "callable", roles=_CALLABLE_BASE),)

TOPICS: tuple[Topic, ...] = (
    # Change events of every Firestore write, consumed by the PostgreSQL mirror.
    Topic("mirror-changes", dead_letter_topic="mirror-changes-dead-letter"),
    Topic("mirror-changes-dead-letter"),
)

QUEUES: tuple[Queue, ...] = ()

SCHEDULED_JOBS: tuple[ScheduledJob, ...] = ()


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
    }


def render_terraform_vars() -> str:
    return json.dumps(as_terraform_vars(), indent=2, sort_keys=True) + "\n"
