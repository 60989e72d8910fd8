"""The "sync applied changes" hook: a coalesced silent sync push to the user's other devices.

`syncFocusSessions` calls `SyncPushNotifier(uid, device_id)` after a sync that changed
something. The notifier enqueues one Cloud Task per (user, origin device, 30 s bucket), named
by hash and dispatched when the bucket ends: a burst of syncs makes one task (production Cloud
Tasks answers ALREADY_EXISTS to the rest; an instance also skips the RPC for a bucket it has
already enqueued). Delivery coalesces again per device and bucket (the emulator accepts
duplicate names) and applies the budget, see shared/push/delivery.py.

A failure to enqueue never fails the sync: the other devices miss one wake-up and sync at their
next start or push instead.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

from shared import logs
from shared.clock import utcnow
from shared.push.planning import plan_sync
from shared.push.tasks import TaskQueue

_RECENT_MAX = 10_000

_log = logs.get_logger("push.sync")


class SyncPushNotifier:
    """Implements `shared.sessions.service.NotifyOtherDevices`."""

    def __init__(self, queue: TaskQueue, clock: Callable[[], datetime] = utcnow) -> None:
        self._queue = queue
        self._clock = clock
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, uid: str, device_id: str) -> None:
        self.notify_other_devices(uid, device_id)

    def notify_other_devices(self, uid: str, device_id: str) -> None:
        task = plan_sync(uid, device_id, self._clock())
        with self._lock:
            if task.name in self._recent:
                return
        try:
            report = self._queue.create([task])
        except Exception as err:
            report = None
            _log.warning(
                "sync push not enqueued: %s",
                err,
                extra={"fields": {"event": "push.sync.enqueue_failed", "uid": uid}},
            )
        if report is None or not report.ok:
            return
        with self._lock:
            self._recent[task.name] = None
            while len(self._recent) > _RECENT_MAX:
                self._recent.popitem(last=False)
