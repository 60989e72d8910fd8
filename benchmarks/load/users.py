"""Simulated users: the apps' side of the protocol, over HTTP, as the client SDKs speak it.

Each user signs up with the Auth emulator (a real ID token), bootstraps its account, registers
its devices and, when its plan says so, saves a schedule; then it plays its day
(`benchmarks.load.profile`): every call is `POST <functions>/<name>` with `{"data": ...}` and
`Authorization: Bearer <ID token>`, answered `{"result": ...}` or `{"error": {"status": ...}}`.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests

from benchmarks.load.profile import Step, UserPlan

BLOCKED_APPS = [f"com.example.app{i}" for i in range(12)]
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@dataclasses.dataclass(frozen=True)
class CallRecord:
    function: str
    seconds: float
    error: str | None  # the callable error status, "HTTP <n>" or the exception's name
    expected: str | None  # the error the step provoked on purpose
    bytes: int = 0  # the answer's body

    @property
    def unexpected(self) -> bool:
        return self.error is not None and self.error != self.expected


class CallFailed(Exception):
    """A call answered an error the step did not provoke: the user's day stops there."""


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def sign_up(auth_host: str, session: requests.Session) -> str:
    """A new Auth emulator user's ID token."""
    url = f"http://{auth_host}/identitytoolkit.googleapis.com/v1/accounts:signUp?key=fake-api-key"
    body = {
        "email": f"load-{uuid.uuid4().hex[:12]}@example.com",
        "password": "s3cret-pass",
        "returnSecureToken": True,
    }
    response = session.post(url, json=body, timeout=60)
    response.raise_for_status()
    token: str = response.json()["idToken"]
    return token


@dataclasses.dataclass
class _Device:
    device_id: str
    platform: str
    cursor: str | None = None


class SimulatedUser:
    """One user of the plan; `on_call` sees every call as it completes (thread-safe callers)."""

    def __init__(
        self,
        plan: UserPlan,
        functions_base_url: str,
        auth_host: str,
        on_call: Callable[[CallRecord], None],
    ) -> None:
        self.plan = plan
        self.base = functions_base_url.rstrip("/")
        self.auth_host = auth_host
        self.on_call = on_call
        self.http = requests.Session()
        self.token = ""
        run = uuid.uuid4().hex[:8]
        self.devices = [
            _Device(f"load-{run}-{i}", platform) for i, platform in enumerate(plan.devices)
        ]
        self.schedule_id = f"sched-{run}"
        self.schedule_window: tuple[str, str] | None = None
        self.last_session: dict[str, Any] | None = None
        self._clock = datetime.now(UTC)
        self._lock = threading.Lock()

    # -- protocol ------------------------------------------------------------------------------

    def call(self, name: str, data: Any, expect: str | None = None) -> Any:
        started = time.perf_counter()
        error: str | None = None
        result: Any = None
        size = 0
        try:
            response = self.http.post(
                f"{self.base}/{name}",
                json={"data": data},
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=120,
            )
            size = len(response.content)
            try:
                body = response.json()
            except ValueError:
                body = {}
            if response.status_code == 200 and "result" in body:
                result = body["result"]
            else:
                status = (body.get("error") or {}).get("status") if isinstance(body, dict) else None
                error = str(status) if status else f"HTTP {response.status_code}"
        except requests.RequestException as err:
            error = type(err).__name__
        record = CallRecord(name, time.perf_counter() - started, error, expect, size)
        self.on_call(record)
        if record.unexpected:
            raise CallFailed(f"{name}: {error}")
        return result

    def now(self) -> datetime:
        """Strictly increasing client clock (the conflict key of every edit)."""
        self._clock = max(datetime.now(UTC), self._clock + timedelta(milliseconds=1))
        return self._clock

    # -- setup (not part of the day) -----------------------------------------------------------

    def set_up(self) -> None:
        self.token = sign_up(self.auth_host, self.http)
        self.call("bootstrapAccount", {"timezone": self.plan.zone, "locale": "en-GB"})
        for device in self.devices:
            self.register(device)

    def register(self, device: _Device, platform: str | None = None) -> None:
        data = {
            "deviceId": device.device_id,
            "platform": platform or device.platform,
            "fcmToken": f"tok-{uuid.uuid4().hex}{uuid.uuid4().hex}",
            "appVersion": "3.2.0",
        }
        self.call("registerDevice", data, expect=None if platform is None else "INVALID_ARGUMENT")

    def save_schedule(self, start_at: datetime, minutes: int = 1) -> None:
        """A daily block from `start_at` (a whole minute) lasting `minutes`, in the user's zone:
        its start and end pushes come during the run."""
        zone = ZoneInfo(self.plan.zone)
        start = start_at.astimezone(zone)
        end = (start_at + timedelta(minutes=minutes)).astimezone(zone)
        self.schedule_window = (start.strftime("%H:%M"), end.strftime("%H:%M"))
        self._upsert_schedule(BLOCKED_APPS)

    def _upsert_schedule(self, apps: list[str]) -> None:
        assert self.schedule_window is not None
        schedule = {
            "id": self.schedule_id,
            "name": "Deep work",
            "timezone": self.plan.zone,
            "days": DAYS,
            "start": self.schedule_window[0],
            "end": self.schedule_window[1],
            "blockedApps": apps,
            "enabled": True,
            "updatedAt": stamp(self.now()),
        }
        self.call("upsertSchedule", {"schedule": schedule})

    # -- the day -------------------------------------------------------------------------------

    def play(self, steps: list[Step] | None = None, stop: threading.Event | None = None) -> int:
        """Run the day's steps in order (until `stop` is set); returns the steps done."""
        done = 0
        for step in self.plan.steps if steps is None else steps:
            if stop is not None and stop.is_set():
                break
            getattr(self, f"_step_{step.kind}")(step)
            done += 1
        return done

    def sync(self, device: _Device, mutations: list[dict[str, Any]]) -> None:
        data = {"deviceId": device.device_id, "cursor": device.cursor, "mutations": mutations}
        result = self.call("syncFocusSessions", data)
        device.cursor = result["cursor"]
        while result.get("hasMore"):
            data = {"deviceId": device.device_id, "cursor": device.cursor, "mutations": []}
            result = self.call("syncFocusSessions", data)
            device.cursor = result["cursor"]

    def _others_pull(self, origin: int) -> None:
        """What the sync push makes the user's other devices do."""
        for index, device in enumerate(self.devices):
            if index != origin:
                self.sync(device, [])

    def _session(self, device: _Device, status: str, sid: str | None = None) -> dict[str, Any]:
        now = self.now()
        started = now - timedelta(minutes=50)
        return {
            "id": sid or f"s-{uuid.uuid4().hex}",
            "startedAt": stamp(started),
            "plannedEndAt": stamp(started + timedelta(minutes=50)),
            "endedAt": stamp(now) if status != "running" else None,
            "status": status,
            "label": "deep work",
            "blockedApps": BLOCKED_APPS,
            "scheduleId": None,
            "updatedAt": stamp(now),
            "deviceId": device.device_id,
        }

    def _upsert(self, session: dict[str, Any]) -> dict[str, Any]:
        return {"mutationId": f"m-{uuid.uuid4().hex}", "op": "upsert", "session": session}

    def _step_pull(self, step: Step) -> None:
        self.sync(self.devices[step.device], [])

    def _step_listSchedules(self, _step: Step) -> None:
        self.call("listSchedules", {})

    def _step_session(self, step: Step) -> None:
        device = self.devices[step.device]
        session = self._session(device, "running")
        self.sync(device, [self._upsert(session)])
        self._others_pull(step.device)
        if step.size > 1:
            edited = {**session, "label": "writing", "updatedAt": stamp(self.now())}
            self.sync(device, [self._upsert(edited)])
            self._others_pull(step.device)
        ended = self._session(device, "completed", sid=session["id"])
        ended["startedAt"], ended["plannedEndAt"] = session["startedAt"], session["plannedEndAt"]
        self.sync(device, [self._upsert(ended)])
        self._others_pull(step.device)
        self.last_session = ended

    def _step_conflict(self, step: Step) -> None:
        """The second device sends an edit older than the stored one: last writer wins."""
        device = self.devices[step.device]
        base = self.last_session or self._session(self.devices[0], "completed")
        stale = datetime.now(UTC) - timedelta(minutes=5)
        older = {**base, "label": "older edit", "updatedAt": stamp(stale)}
        older["deviceId"] = device.device_id
        self.sync(device, [self._upsert(older)])
        self._others_pull(step.device)

    def _step_offline(self, step: Step) -> None:
        device = self.devices[step.device]
        burst = [self._upsert(self._session(device, "completed")) for _ in range(step.size)]
        self.sync(device, burst)
        self._others_pull(step.device)

    def _step_editSchedule(self, _step: Step) -> None:
        if self.schedule_window is not None:
            self._upsert_schedule([*BLOCKED_APPS, "com.example.new"])

    def _step_refreshToken(self, step: Step) -> None:
        self.register(self.devices[step.device])

    def _step_export(self, _step: Step) -> None:
        result = self.call("exportAccount", {})
        while result.get("hasMore"):
            result = self.call("exportAccount", {"cursor": result["cursor"]})

    def _step_provoked(self, _step: Step) -> None:
        self.register(self.devices[0], platform="windows")
