"""The Cloud Tasks emulator, started by `devstack.tasks_emulator` and driven by the stock client."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import grpc
import pytest
from google.api_core import exceptions
from google.cloud import tasks_v2
from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

from devstack import tasks_emulator
from devstack.process import ManagedProcess, StackError, free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
LOCATION = "projects/demo-focus/locations/us-central1"

pytestmark = pytest.mark.timeout(300)  # the first run builds the emulator's venv


@dataclass(frozen=True)
class Delivery:
    received_at: datetime
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


def _lowered(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    # Header names are case-insensitive; the emulator's urllib rewrites their case.
    return {key.lower(): value for key, value in headers}


class Target:
    """A tiny HTTP target that records what the emulator delivers, with the time it arrived."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                received_at = datetime.now(UTC)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with target._lock:
                    target.deliveries.append(
                        Delivery(received_at, self.path, _lowered(self.headers.items()), body)
                    )
                self.send_response(500 if self.path.startswith("/fail") else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def received(self, path: str) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if d.path == path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@pytest.fixture(scope="module")
def emulator_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    python = tasks_emulator.ensure_installed(ROOT)
    port = free_port()
    proc = ManagedProcess(
        "tasks-emulator",
        tasks_emulator.command(python, port),
        log_dir=tmp_path_factory.mktemp("tasks-logs"),
    )
    proc.start()
    try:
        try:
            wait_until(lambda: tasks_emulator.is_ready(port), timeout=30, what=proc.name)
        except StackError:
            proc.ensure_running()  # raises with the log tail when it died
            raise
        yield port
    finally:
        proc.stop()


@pytest.fixture
def client(emulator_port: int) -> Iterator[tasks_v2.CloudTasksClient]:
    channel = grpc.insecure_channel(f"127.0.0.1:{emulator_port}")
    try:
        yield tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))
    finally:
        channel.close()


@pytest.fixture
def target() -> Iterator[Target]:
    server = Target()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def queue(client: tasks_v2.CloudTasksClient) -> Iterator[str]:
    name = f"{LOCATION}/queues/test-{uuid.uuid4().hex[:12]}"
    client.create_queue(parent=LOCATION, queue=tasks_v2.Queue(name=name))
    try:
        yield name
    finally:
        client.delete_queue(name=name)


def _listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as the kernel prints them) of the TCP sockets listening on `port`."""
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        lines = Path(table).read_text().splitlines()[1:]
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.rsplit(":", 1)
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                addresses.add(address)
    return addresses


def test_listens_on_loopback_only(emulator_port: int) -> None:
    addresses = _listening_addresses(emulator_port)

    # 127.0.0.1 in /proc/net/tcp, or as the IPv4-mapped ::ffff:127.0.0.1 in /proc/net/tcp6.
    loopback = {"0100007F", "0000000000000000FFFF00000100007F"}
    assert addresses
    assert addresses <= loopback


def test_http_task_arrives_with_its_headers_and_body_not_before_its_schedule_time(
    client: tasks_v2.CloudTasksClient, queue: str, target: Target
) -> None:
    schedule_time = datetime.now(UTC) + timedelta(seconds=1)
    task = tasks_v2.Task(
        http_request=tasks_v2.HttpRequest(
            http_method=tasks_v2.HttpMethod.POST,
            url=f"{target.url}/push",
            headers={"Content-Type": "application/json", "X-Focus-Test": "scheduled"},
            body=b'{"kind": "schedule"}',
        ),
        schedule_time=schedule_time,
    )

    created = client.create_task(parent=queue, task=task)
    wait_until(lambda: bool(target.received("/push")), timeout=30, what="the scheduled task")

    [delivery] = target.received("/push")
    headers = delivery.headers
    assert headers["x-focus-test"] == "scheduled"
    assert headers["content-type"] == "application/json"
    assert headers["x-cloudtasks-queuename"] == queue
    assert headers["x-cloudtasks-taskname"] == created.name.rsplit("/", 1)[-1]
    assert delivery.body == b'{"kind": "schedule"}'
    assert delivery.received_at >= schedule_time
    eta = float(headers["x-cloudtasks-tasketa"])
    assert eta == pytest.approx(schedule_time.timestamp(), abs=1e-3)


def test_task_without_its_queue_is_refused(client: tasks_v2.CloudTasksClient) -> None:
    missing = f"{LOCATION}/queues/missing-{uuid.uuid4().hex[:12]}"

    # Cloud Tasks answers NOT_FOUND here; the emulator FAILED_PRECONDITION. Either way the local
    # stack has to create its queues before anything is enqueued.
    with pytest.raises((exceptions.FailedPrecondition, exceptions.NotFound)):
        client.create_task(
            parent=missing,
            task=tasks_v2.Task(http_request=tasks_v2.HttpRequest(url="http://127.0.0.1:9/")),
        )


def test_failing_task_stops_after_max_attempts(
    client: tasks_v2.CloudTasksClient, queue: str, target: Target
) -> None:
    # `command` maps max_attempts (default 8) to the emulator's --max-retries.
    failing = tasks_v2.HttpRequest(url=f"{target.url}/fail")
    client.create_task(parent=queue, task=tasks_v2.Task(http_request=failing))

    def given_up() -> bool:
        return len(target.received("/fail")) >= 8 and not list(client.list_tasks(parent=queue))

    wait_until(given_up, timeout=30, what="the failing task to be given up")
    attempts = target.received("/fail")
    assert len(attempts) == 8
    retry_counts = [d.headers.get("x-cloudtasks-taskretrycount") for d in attempts]
    assert retry_counts == [str(n) for n in range(8)]


def test_a_task_name_is_refused_once_used_as_cloud_tasks_does(
    client: tasks_v2.CloudTasksClient, queue: str, target: Target
) -> None:
    name = f"{queue}/tasks/t-{uuid.uuid4().hex}"
    request = tasks_v2.HttpRequest(url=f"{target.url}/named")
    client.create_task(parent=queue, task=tasks_v2.Task(name=name, http_request=request))
    with pytest.raises(exceptions.AlreadyExists):
        client.create_task(parent=queue, task=tasks_v2.Task(name=name, http_request=request))
    wait_until(lambda: bool(target.received("/named")), timeout=30, what="the named task")
    # Executed, its name stays taken (production keeps it for a while too).
    with pytest.raises(exceptions.AlreadyExists):
        client.create_task(parent=queue, task=tasks_v2.Task(name=name, http_request=request))
    assert len(target.received("/named")) == 1


def test_get_and_delete_task_and_a_deleted_task_never_runs(
    client: tasks_v2.CloudTasksClient, queue: str, target: Target
) -> None:
    later = datetime.now(UTC) + timedelta(seconds=2)
    name = f"{queue}/tasks/t-{uuid.uuid4().hex}"
    client.create_task(
        parent=queue,
        task=tasks_v2.Task(
            name=name,
            http_request=tasks_v2.HttpRequest(url=f"{target.url}/deleted"),
            schedule_time=later,
        ),
    )
    assert client.get_task(name=name).name == name
    client.delete_task(name=name)
    with pytest.raises(exceptions.NotFound):
        client.get_task(name=name)
    with pytest.raises(exceptions.NotFound):
        client.delete_task(name=name)
    # A task scheduled after the deleted one runs, so the queue was polled past its time.
    marker = tasks_v2.HttpRequest(url=f"{target.url}/after")
    client.create_task(
        parent=queue,
        task=tasks_v2.Task(http_request=marker, schedule_time=later + timedelta(seconds=1)),
    )
    wait_until(lambda: bool(target.received("/after")), timeout=30, what="the later task")
    assert target.received("/deleted") == []
