"""A typical user-day, as a list of calls: pure, seeded, no I/O.

One `UserPlan` per simulated user: its devices (1-3, iOS or Android), whether it has a schedule
(and in which zone), and the calls of one day in the order the apps make them. The shares below
are the profile (docs/COST.md quotes them); change them here and every figure follows.

- every device opens the app a few times a day, and each open pulls (`syncFocusSessions` with
  no mutations); one open a day also lists the schedules;
- one to three focus sessions a day, each started, sometimes edited, and ended on one device,
  each step a sync with one mutation; the user's other devices pull after each change (what
  the sync push makes them do);
- users with two or more devices now and then edit the same session on both (last writer wins);
- now and then a device was offline and replays a burst of mutations in one sync;
- now and then the schedule is edited, a device's FCM token is refreshed (`registerDevice`),
  the account is exported;
- a few users send a call the API refuses on purpose (`INVALID_ARGUMENT`): the only errors
  a run may count.

The scheduled pushes of the day (a start and an end per user with a schedule) follow from the
schedule the setup creates, not from the calls here.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any, Literal

Platform = Literal["ios", "android"]
StepKind = Literal[
    "pull",
    "listSchedules",
    "session",
    "conflict",
    "offline",
    "editSchedule",
    "refreshToken",
    "export",
    "provoked",
]

# -- the profile (shares per user-day unless said otherwise) -----------------------------------

DEVICE_COUNTS = ((1, 0.3), (2, 0.5), (3, 0.2))
IOS_SHARE = 0.55
SCHEDULE_SHARE = 0.6  # users with a schedule (one block a day)
OPENS_PER_DEVICE = (2, 5)  # app opens per device per day, uniform
SESSIONS_PER_DAY = (1, 3)
EDIT_SHARE = 0.3  # sessions edited once while running
CONFLICT_SHARE = 0.15  # users with 2+ devices editing one session on both
OFFLINE_SHARE = 0.2  # users replaying an offline burst
OFFLINE_BURST = (3, 8)  # mutations in that burst
SCHEDULE_EDIT_SHARE = 0.1  # users editing their schedule (of those who have one)
TOKEN_REFRESH_SHARE = 0.1  # per device
EXPORT_SHARE = 0.03
PROVOKED_SHARE = 0.05  # users sending one refused call (registerDevice with a bad platform)
ZONES = (
    "Europe/Paris",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Sao_Paulo",
)


@dataclasses.dataclass(frozen=True)
class Step:
    """One thing the user's apps do; `device` indexes `UserPlan.devices`."""

    kind: StepKind
    device: int
    size: int = 1  # mutations in an offline burst; 2 for an edited session
    # The callable error code the step provokes on purpose (None: it must succeed).
    expect: str | None = None


@dataclasses.dataclass(frozen=True)
class UserPlan:
    index: int
    devices: tuple[Platform, ...]
    zone: str
    has_schedule: bool
    steps: tuple[Step, ...]

    def calls(self) -> int:
        """HTTP calls the day makes (what the progress bar counts)."""
        return sum(_calls(step, len(self.devices)) for step in self.steps)


def _calls(step: Step, devices: int) -> int:
    others = devices - 1
    if step.kind == "session":
        # start, maybe an edit, end: each a sync, each followed by a pull on every other device
        syncs = 2 + (step.size - 1)
        return syncs * (1 + others)
    if step.kind in ("conflict", "offline"):
        return 1 + others
    return 1


def _weighted(rng: random.Random, table: tuple[tuple[int, float], ...]) -> int:
    roll, total = rng.random(), 0.0
    for value, share in table:
        total += share
        if roll < total:
            return value
    return table[-1][0]


def plan_user(index: int, seed: int) -> UserPlan:
    """The plan of user `index` in a run seeded with `seed` (same inputs, same plan)."""
    rng = random.Random(f"{seed}:{index}")
    count = _weighted(rng, DEVICE_COUNTS)
    devices: tuple[Platform, ...] = tuple(
        "ios" if rng.random() < IOS_SHARE else "android" for _ in range(count)
    )
    has_schedule = rng.random() < SCHEDULE_SHARE
    steps: list[Step] = []
    for device in range(count):
        steps += [Step("pull", device)] * rng.randint(*OPENS_PER_DEVICE)
    steps.append(Step("listSchedules", 0))
    for _ in range(rng.randint(*SESSIONS_PER_DAY)):
        size = 2 if rng.random() < EDIT_SHARE else 1
        steps.append(Step("session", rng.randrange(count), size=size))
    if count >= 2 and rng.random() < CONFLICT_SHARE:
        steps.append(Step("conflict", 1))
    if rng.random() < OFFLINE_SHARE:
        steps.append(Step("offline", rng.randrange(count), size=rng.randint(*OFFLINE_BURST)))
    if has_schedule and rng.random() < SCHEDULE_EDIT_SHARE:
        steps.append(Step("editSchedule", 0))
    for device in range(count):
        if rng.random() < TOKEN_REFRESH_SHARE:
            steps.append(Step("refreshToken", device))
    if rng.random() < EXPORT_SHARE:
        steps.append(Step("export", 0))
    if rng.random() < PROVOKED_SHARE:
        steps.append(Step("provoked", 0, expect="INVALID_ARGUMENT"))
    # The opens come first in the list only by construction: a day interleaves them.
    rng.shuffle(steps)
    return UserPlan(index, devices, rng.choice(ZONES), has_schedule, tuple(steps))


def plan_users(count: int, seed: int) -> list[UserPlan]:
    return [plan_user(i, seed) for i in range(count)]


def summary(plans: list[UserPlan]) -> dict[str, Any]:
    """What a set of plans holds, for the report."""
    kinds: dict[str, int] = {}
    for plan in plans:
        for step in plan.steps:
            kinds[step.kind] = kinds.get(step.kind, 0) + 1
    return {
        "users": len(plans),
        "devices": sum(len(p.devices) for p in plans),
        "schedules": sum(p.has_schedule for p in plans),
        "calls": sum(p.calls() for p in plans),
        "steps": kinds,
    }
