"""Pure push planning: task names, shards, send times with the lead window, plans of a rule."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from shared import registry
from shared.push.planning import (
    HORIZON,
    LEAD_WINDOW,
    ScheduleRef,
    ScheduleTask,
    SyncTask,
    decode_body,
    encode_body,
    lead_offset,
    plan_schedule,
    plan_sync,
    planned_task_refs,
    queue_for,
    schedule_delivery_key,
    schedule_task_name,
    send_time,
    sync_bucket,
    upcoming_event_instants,
)
from shared.recurrence import WeeklyRule, events_between

REF = ScheduleRef("user-1", "sched-1", 7)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def rule(zone: str, days: set[str], start: str, end: str) -> WeeklyRule:
    return WeeklyRule(zone, frozenset(days), time.fromisoformat(start), time.fromisoformat(end))


WEEKDAYS = {"mon", "tue", "wed", "thu", "fri"}


def test_task_names_are_deterministic_hex_and_depend_on_every_part() -> None:
    at = utc(2026, 6, 15, 7)
    name = schedule_task_name("u", "s", 1, "start", at)
    # A known value: another instance (the refill, a retry) names the same task the same way.
    assert name == "e791089ff1fa6f07c8aaf4142eaa61277f8dadd10adba87821a2fee0b14cf8cc"
    assert len(name) == 64 and all(c in "0123456789abcdef" for c in name)
    variants = {
        schedule_task_name("u2", "s", 1, "start", at),
        schedule_task_name("u", "s2", 1, "start", at),
        schedule_task_name("u", "s", 2, "start", at),
        schedule_task_name("u", "s", 1, "end", at),
        schedule_task_name("u", "s", 1, "start", at + timedelta(minutes=1)),
    }
    assert name not in variants and len(variants) == 5


def test_delivery_key_ignores_the_revision_so_an_edit_does_not_push_twice() -> None:
    at = utc(2026, 6, 15, 7)
    assert schedule_delivery_key("u", "s", "start", at) != schedule_delivery_key(
        "u", "s", "end", at
    )
    first = plan_schedule(
        ScheduleRef("u", "s", 1),
        rule("UTC", {"mon"}, "07:00", "08:00"),
        start=utc(2026, 6, 14),
        end=utc(2026, 6, 16),
        planned_at=utc(2026, 6, 14),
    )
    second = plan_schedule(
        ScheduleRef("u", "s", 2),
        rule("UTC", {"mon"}, "07:00", "08:00"),
        start=utc(2026, 6, 14),
        end=utc(2026, 6, 16),
        planned_at=utc(2026, 6, 14),
    )
    assert [t.name for t in first] != [t.name for t in second]
    assert [t.send_at for t in first] == [t.send_at for t in second]


def test_tasks_spread_evenly_over_the_registry_shards() -> None:
    shards = registry.queue("push-schedule").shard_names()
    names = [schedule_task_name(f"u{i}", "s", 1, "start", utc(2026, 1, 1)) for i in range(8000)]
    counts = Counter(queue_for("schedule", n) for n in names)
    assert set(counts) == set(shards)
    expected = len(names) / len(shards)
    assert all(abs(c - expected) < expected * 0.2 for c in counts.values())
    assert queue_for("sync", names[0]) in registry.queue("push-sync").shard_names()


@given(st.text(alphabet="0123456789abcdef", min_size=32, max_size=32))
def test_lead_offset_is_inside_the_window(key: str) -> None:
    offset = lead_offset(key)
    assert timedelta(0) <= offset < LEAD_WINDOW


def test_lead_offsets_cover_the_window_uniformly() -> None:
    keys = [schedule_delivery_key(f"u{i}", "s", "start", utc(2026, 1, 1)) for i in range(6000)]
    minutes = Counter(int(lead_offset(k).total_seconds() // 60) for k in keys)
    assert set(minutes) == set(range(int(LEAD_WINDOW.total_seconds() // 60)))
    assert max(minutes.values()) < 2 * min(minutes.values())


def test_send_time_far_near_and_past() -> None:
    event = utc(2026, 6, 15, 9)
    key = schedule_delivery_key("u", "s", "start", event)
    # Planned a day ahead: early by the key's offset, inside the window.
    far = send_time(event, key, event - timedelta(days=1))
    assert event - LEAD_WINDOW <= far <= event and far == event - lead_offset(key)
    # Planned two minutes ahead (a block created just before it starts): exactly on time.
    assert send_time(event, key, event - timedelta(minutes=2)) == event
    # Already past (a catch-up): at once.
    assert send_time(event, key, event + timedelta(seconds=5)) == event + timedelta(seconds=5)


def test_plan_of_weekday_mornings_in_paris() -> None:
    r = rule("Europe/Paris", WEEKDAYS, "09:00", "12:00")
    planned_at = utc(2026, 6, 14, 12)  # Sunday noon
    tasks = plan_schedule(REF, r, start=planned_at, end=planned_at + HORIZON, planned_at=planned_at)
    got = [(t.body.event, t.body.occurrence_at) for t in tasks if isinstance(t.body, ScheduleTask)]
    # Monday to Wednesday 09:00-12:00 +02:00 within 72 h.
    assert got == [
        (event, utc(2026, 6, d, h))
        for d in (15, 16, 17)
        for event, h in (("start", 7), ("end", 10))
    ]
    for task in tasks:
        body = task.body
        assert isinstance(body, ScheduleTask)
        assert (body.uid, body.schedule_id, body.revision) == ("user-1", "sched-1", 7)
        assert task.name == schedule_task_name(
            "user-1", "sched-1", 7, body.event, body.occurrence_at
        )
        assert body.occurrence_at - LEAD_WINDOW <= task.send_at <= body.occurrence_at
        assert task.queue == queue_for("schedule", task.name)


def test_a_block_starting_in_two_minutes_is_sent_on_time() -> None:
    now = utc(2026, 6, 15, 8, 58)
    r = rule("UTC", {"mon"}, "09:00", "09:01")
    tasks = plan_schedule(REF, r, start=now, end=now + HORIZON, planned_at=now)
    assert [(t.body.event, t.send_at) for t in tasks if isinstance(t.body, ScheduleTask)] == [
        ("start", utc(2026, 6, 15, 9)),
        ("end", utc(2026, 6, 15, 9, 1)),
    ]


def test_catch_up_pushes_the_start_of_a_block_in_progress_at_once() -> None:
    now = utc(2026, 6, 15, 10, 30)
    r = rule("UTC", {"mon"}, "09:00", "12:00")
    without = plan_schedule(REF, r, start=now, end=now + timedelta(hours=5), planned_at=now)
    assert [t.body.event for t in without if isinstance(t.body, ScheduleTask)] == ["end"]
    tasks = plan_schedule(
        REF, r, start=now, end=now + timedelta(hours=5), planned_at=now, catch_up=True
    )
    assert [(t.body.event, t.body.occurrence_at) for t in tasks] == [  # type: ignore[union-attr]
        ("start", utc(2026, 6, 15, 9)),
        ("end", utc(2026, 6, 15, 12)),
    ]
    assert tasks[0].send_at == now
    assert utc(2026, 6, 15, 12) - LEAD_WINDOW <= tasks[1].send_at <= utc(2026, 6, 15, 12)


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"]),
    days=st.sets(st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]), min_size=1),
    start=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    length=st.integers(min_value=1, max_value=24 * 60),
    planned_at=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
)
def test_plans_hold_every_event_once_and_never_end_before_start(
    zone: str, days: set[str], start: time, length: int, planned_at: datetime
) -> None:
    end = (datetime.combine(datetime(2026, 1, 1), start) + timedelta(minutes=length)).time()
    r = WeeklyRule(zone, frozenset(days), start, end)
    window_end = planned_at + HORIZON
    tasks = plan_schedule(REF, r, start=planned_at, end=window_end, planned_at=planned_at)
    events = events_between(r, planned_at, window_end)
    assert [(t.body.event, t.body.occurrence_at) for t in tasks] == [  # type: ignore[union-attr]
        (e, at) for e, at, _ in events
    ]
    assert len({t.name for t in tasks}) == len(tasks)
    start_sends = {
        t.body.occurrence_at: t.send_at  # type: ignore[union-attr]
        for t in tasks
        if t.body.event == "start"  # type: ignore[union-attr]
    }
    for task, (_, at, occurrence) in zip(tasks, events, strict=True):
        assert planned_at <= task.send_at <= at
        if task.body.event == "end" and occurrence.start_at in start_sends:  # type: ignore[union-attr]
            assert task.send_at >= start_sends[occurrence.start_at]
    # Deleting by name finds exactly the tasks the plan made.
    refs = planned_task_refs(REF, r, after=planned_at, until=window_end)
    assert refs == [(t.queue, t.name) for t in tasks]


def test_sync_tasks_coalesce_per_user_and_bucket_whatever_the_device_ids() -> None:
    t0 = utc(2026, 6, 15, 9, 0, 1)
    a = plan_sync("u", "phone", t0)
    b = plan_sync("u", "phone", t0 + timedelta(seconds=20))
    c = plan_sync("u", "phone", t0 + timedelta(seconds=40))
    other = plan_sync("u", "tablet", t0)
    assert a.name == b.name != c.name
    # A client choosing a new device id on every call still makes one task per bucket.
    invented = {plan_sync("u", f"device-{i}", t0).name for i in range(1000)}
    assert invented == {a.name} == {other.name}
    assert plan_sync("v", "phone", t0).name != a.name
    assert isinstance(other.body, SyncTask) and other.body.origin_device_id == "tablet"
    assert a.send_at == utc(2026, 6, 15, 9, 0, 30)
    assert isinstance(a.body, SyncTask) and a.body.bucket == sync_bucket(t0)
    assert a.queue in registry.queue("push-sync").shard_names()


def test_task_bodies_round_trip_as_camel_case_json() -> None:
    body = ScheduleTask(
        uid="u", schedule_id="s", revision=3, event="end", occurrence_at=utc(2026, 6, 15, 10)
    )
    raw = encode_body(body)
    assert b'"scheduleId":"s"' in raw and b'"occurrenceAt":"2026-06-15T10:00:00.000Z"' in raw
    assert decode_body(raw) == body
    sync = SyncTask(uid="u", origin_device_id="d", bucket=5)
    assert decode_body(encode_body(sync)) == sync


def test_upcoming_events_include_those_whose_push_may_go_early() -> None:
    now = utc(2026, 6, 15, 8)
    start = now + timedelta(hours=1) + LEAD_WINDOW - timedelta(minutes=5)
    end = now + timedelta(hours=1) + LEAD_WINDOW + timedelta(minutes=5)
    r = rule("UTC", {"mon"}, f"{start:%H:%M}", f"{end:%H:%M}")
    found = upcoming_event_instants([("s", r)], now, timedelta(hours=1))
    # The start is within an hour plus the lead window (its push may go before 09:00); the
    # end is not.
    assert found == [("s", "start", start)]
    assert upcoming_event_instants([("s", r)], utc(2026, 6, 15, 7), timedelta(hours=1)) == []


def test_pending_sync_refs_name_every_queued_sync_push_of_the_user() -> None:
    from datetime import UTC, datetime, timedelta

    from shared.push.planning import (
        SYNC_MAX_AGE,
        pending_sync_task_refs,
        plan_sync,
    )

    now = datetime(2026, 11, 22, 9, 0, 7, tzinfo=UTC)
    queued = [
        plan_sync("u1", device, at)
        for device in ("phone", "tablet")
        for at in (now, now - timedelta(seconds=45), now - SYNC_MAX_AGE)
    ]
    refs = set(pending_sync_task_refs("u1", now))
    assert {(task.queue, task.name) for task in queued} <= refs
    other_user = plan_sync("u2", "phone", now)
    assert (other_user.queue, other_user.name) not in refs
