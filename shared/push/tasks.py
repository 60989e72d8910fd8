"""Cloud Tasks as the push timer: creating and deleting the tasks that `planning` describes.

Each task is an HTTP POST to the `deliverPush` function at its `send_at`. In production Cloud
Tasks attaches an OIDC token minted for the invoker service account, with the function's URL as
audience; locally (no OIDC from the emulator) the task carries the stack's shared secret header
instead. The production queues also pin their target and OIDC identity in their own
`http_target` (infra/modules/tasks). ALREADY_EXISTS on create means the same plan was made
before: fine. Deleting is best effort: a task already dispatched is simply not found; stale
tasks are harmless anyway, their delivery checks the schedule first.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import dataclasses
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from shared import logs, tracing
from shared.push.planning import PlannedTask, encode_body

if TYPE_CHECKING:
    from google.cloud import tasks_v2

    from shared.settings import Settings

DELIVER_FUNCTION = "deliverPush"
# A header name, not a secret; the same value as devstack.stack.TASK_SECRET_HEADER.
TASK_SECRET_HEADER = "X-Focus-Task-Secret"  # noqa: S105
DISPATCH_DEADLINE = timedelta(seconds=60)
PARALLEL_RPCS = 16

_log = logs.get_logger("push.tasks")


@dataclasses.dataclass
class CreateReport:
    created: int = 0
    existed: int = 0
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (name, error)

    @property
    def ok(self) -> bool:
        return not self.failed


class TaskQueue(Protocol):
    def create(self, tasks: Sequence[PlannedTask]) -> CreateReport:
        """Create every task; ALREADY_EXISTS counts as done. Never raises per task."""

    def delete(self, refs: Sequence[tuple[str, str]]) -> int:
        """Delete (queue, name) tasks where possible; the number actually deleted."""


def deliver_url(settings: Settings) -> str:
    return f"{settings.base_url}/{DELIVER_FUNCTION}"


class CloudTasksQueue:
    """`TaskQueue` on the Cloud Tasks API (or the local emulator, see shared.clients)."""

    def __init__(
        self,
        client: tasks_v2.CloudTasksClient,
        settings: Settings,
        parallelism: int = PARALLEL_RPCS,
    ) -> None:
        if not settings.tasks_invoker_email and not settings.task_shared_secret:
            # Tasks then rely on the queue's own http_target OIDC (infra/modules/tasks); never
            # fail the caller (a sync must not fail because pushes are misconfigured).
            _log.warning(
                "push tasks carry no credentials of their own",
                extra={"fields": {"event": "push.tasks.no_task_auth"}},
            )
        self._client = client
        self._settings = settings
        self._parent = f"projects/{settings.project_id}/locations/{settings.region}/queues"
        self._url = deliver_url(settings)
        self._parallelism = parallelism
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def queue_path(self, queue: str) -> str:
        return f"{self._parent}/{queue}"

    def task_path(self, queue: str, name: str) -> str:
        return f"{self._parent}/{queue}/tasks/{name}"

    def _request(self, task: PlannedTask) -> dict[str, Any]:
        from google.protobuf import duration_pb2, timestamp_pb2

        http: dict[str, Any] = {
            "url": self._url,
            "http_method": "POST",
            # deliverPush continues the creating request's trace from these headers.
            "headers": tracing.inject({"Content-Type": "application/json"}),
            "body": encode_body(task.body),
        }
        if self._settings.tasks_invoker_email:
            http["oidc_token"] = {
                "service_account_email": self._settings.tasks_invoker_email,
                "audience": self._url,
            }
        if self._settings.task_shared_secret:
            http["headers"][TASK_SECRET_HEADER] = self._settings.task_shared_secret
        schedule_time = timestamp_pb2.Timestamp()
        schedule_time.FromDatetime(task.send_at)
        return {
            "name": self.task_path(task.queue, task.name),
            "http_request": http,
            "schedule_time": schedule_time,
            "dispatch_deadline": duration_pb2.Duration(
                seconds=int(DISPATCH_DEADLINE.total_seconds())
            ),
        }

    def _map[T, R](self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        if len(items) <= 1:
            return [fn(item) for item in items]
        with self._pool_lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(
                    self._parallelism, thread_name_prefix="push-tasks"
                )
            pool = self._pool
        # Each call runs in a copy of the caller's context: its trace (the headers injected
        # into the task, the log lines' trace id) follows it into the pool.
        contexts = [contextvars.copy_context() for _ in items]
        return list(pool.map(lambda ctx, item: ctx.run(fn, item), contexts, items))

    def create(self, tasks: Sequence[PlannedTask]) -> CreateReport:
        from google.api_core import exceptions
        from google.cloud import tasks_v2

        def one(task: PlannedTask) -> str | None:
            try:
                self._client.create_task(
                    parent=self.queue_path(task.queue), task=tasks_v2.Task(self._request(task))
                )
            except exceptions.AlreadyExists:
                return "existed"
            except Exception as err:
                return f"error:{type(err).__name__}: {err}"[:300]
            return None

        report = CreateReport()
        for task, outcome in zip(tasks, self._map(one, list(tasks)), strict=True):
            if outcome is None:
                report.created += 1
            elif outcome == "existed":
                report.existed += 1
            else:
                report.failed.append((task.name, outcome.removeprefix("error:")))
        if report.failed:
            _log.error(
                "push tasks not created",
                extra={
                    "fields": {
                        "event": "push.tasks.create_failed",
                        "failed": len(report.failed),
                        "created": report.created,
                        "firstError": report.failed[0][1],
                    }
                },
            )
        return report

    def delete(self, refs: Sequence[tuple[str, str]]) -> int:
        from google.api_core import exceptions

        def one(ref: tuple[str, str]) -> bool:
            try:
                self._client.delete_task(name=self.task_path(*ref))
            except exceptions.NotFound:
                return False  # already run or deleted
            except Exception as err:
                _log.warning(
                    "push task not deleted",
                    extra={"fields": {"event": "push.tasks.delete_failed", "error": str(err)}},
                )
                return False
            return True

        return sum(self._map(one, list(refs)))


class MemoryTaskQueue:
    """`TaskQueue` in memory, with Cloud Tasks' naming rule (a name is used once)."""

    def __init__(self) -> None:
        self.tasks: dict[tuple[str, str], PlannedTask] = {}
        self.used: set[tuple[str, str]] = set()
        self.deleted: list[tuple[str, str]] = []
        self.fail_next: int = 0  # make the next N creates fail (tests)

    def create(self, tasks: Sequence[PlannedTask]) -> CreateReport:
        report = CreateReport()
        for task in tasks:
            ref = (task.queue, task.name)
            if self.fail_next > 0:
                self.fail_next -= 1
                report.failed.append((task.name, "Unavailable"))
            elif ref in self.used:
                report.existed += 1
            else:
                self.used.add(ref)
                self.tasks[ref] = task
                report.created += 1
        return report

    def delete(self, refs: Sequence[tuple[str, str]]) -> int:
        deleted = 0
        for ref in refs:
            if self.tasks.pop(ref, None) is not None:
                self.deleted.append(ref)
                deleted += 1
        return deleted
