"""Callable functions (Firebase callable protocol) for the iOS and Android apps.

Only thin declarations: each function parses its request, calls one service and returns a model.
Imports of services happen inside the functions so a cold start loads only what it runs.
"""

from __future__ import annotations

from typing import Any

from shared.endpoints.callable import RECENT_SIGN_IN_S, Call, SignIn, callable_endpoint


@callable_endpoint()
def bootstrapAccount(call: Call) -> Any:
    from shared import container
    from shared.accounts.models import BootstrapAccountRequest
    from shared.accounts.service import bootstrap_account

    request = call.parse(BootstrapAccountRequest)
    return bootstrap_account(container.account_store(), call.uid, request, call.now)


@callable_endpoint()
def registerDevice(call: Call) -> Any:
    from shared import container
    from shared.devices.models import RegisterDeviceRequest
    from shared.devices.service import register_device

    request = call.parse(RegisterDeviceRequest)
    return register_device(container.device_registry(), call.uid, request, call.now)


# The store reads the deletion marker with the sessions and the feed head (one round trip).
@callable_endpoint(guard_in_store=True)
def syncFocusSessions(call: Call) -> Any:
    from shared import container
    from shared.sessions.models import SyncFocusSessionsRequest
    from shared.sessions.service import sync_focus_sessions

    request = call.parse(SyncFocusSessionsRequest)
    return sync_focus_sessions(
        container.session_store(),
        call.uid,
        request,
        notify_other_devices=container.sync_notifier(),
        guard=call.guard,
    )


@callable_endpoint()  # guarded: an old token of a deleted account must get UNAUTHENTICATED
def unregisterDevice(call: Call) -> Any:
    from shared import container
    from shared.devices.models import UnregisterDeviceRequest
    from shared.devices.service import unregister_device

    request = call.parse(UnregisterDeviceRequest)
    return unregister_device(container.device_registry(), call.uid, request)


# Guarded: an old token of a deleted account must get UNAUTHENTICATED; and a revoked one too,
# since an export hands over everything.
@callable_endpoint(sign_in=SignIn(unrevoked=True))
def exportAccount(call: Call) -> Any:
    from shared import container
    from shared.privacy.export import ExportAccountRequest, export_account

    request = call.parse(ExportAccountRequest)
    reader, derived = container.account_reader(), container.derived_reader()
    return export_account(reader, call.uid, request, call.now, derived)


# Not guarded: a retry with the old token must answer deleted: true. A live account needs an
# unrevoked, recent sign-in: a stolen or forgotten token deletes nothing.
@callable_endpoint(guard_deleted=False, sign_in=SignIn(unrevoked=True, max_age_s=RECENT_SIGN_IN_S))
def deleteAccount(call: Call) -> Any:
    from shared import container
    from shared.privacy.erasure import DeleteAccountRequest, delete_account

    request = call.parse(DeleteAccountRequest)
    return delete_account(container.account_eraser(), call.uid, call.auth_time, request)


@callable_endpoint()
def upsertSchedule(call: Call) -> Any:
    from shared import container
    from shared.schedules.models import UpsertScheduleRequest
    from shared.schedules.service import upsert_schedule

    request = call.parse(UpsertScheduleRequest)
    return upsert_schedule(
        container.schedule_store(), container.push_planner(), call.uid, request, call.now
    )


@callable_endpoint()  # guarded: an old token of a deleted account must get UNAUTHENTICATED
def deleteSchedule(call: Call) -> Any:
    from shared import container
    from shared.schedules.models import DeleteScheduleRequest
    from shared.schedules.service import delete_schedule

    request = call.parse(DeleteScheduleRequest)
    return delete_schedule(
        container.schedule_store(), container.push_planner(), call.uid, request, call.now
    )


@callable_endpoint()  # guarded: an old token of a deleted account must get UNAUTHENTICATED
def listSchedules(call: Call) -> Any:
    from shared import container
    from shared.schedules.models import ListSchedulesRequest
    from shared.schedules.service import list_schedules

    call.parse(ListSchedulesRequest)
    return list_schedules(container.schedule_lister(), call.uid)
