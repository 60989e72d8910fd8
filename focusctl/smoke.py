"""The smoke test of the callables: one throwaway user through every client function.

The deploy pipeline runs it against staging and prod right after each deploy
(`focusctl smoke ...`, .github/workflows/deploy.yml); `tests/e2e/test_smoke.py` runs the same
code against the local stack. It signs a fresh user in with a custom token (minted by the
Admin SDK: locally unsigned for the Auth emulator, in a project signed through IAM by the
pipeline's own identity), calls each callable the way the apps do (App Check included, from a
registered debug token), checks the answers' shape, and erases the user at the end whatever
happened before. Nothing it creates outlives it: no FCM token it registers is ever pushed to
(its only device is the origin of its sync, and its schedule is deleted before any push).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests

TIMEOUT_S = 60


class SmokeFailure(AssertionError):
    """A call answered something other than what the contract promises."""


@dataclasses.dataclass(frozen=True)
class SmokeTarget:
    base_url: str  # functions are at <base_url>/<name>
    project_id: str
    auth_emulator: str | None = None  # host:port of the Auth emulator; None: real Identity Toolkit
    api_key: str = "fake-api-key"  # the project's web API key (not a secret)
    app_id: str | None = None  # Firebase app id whose App Check debug token is registered
    app_check_debug_token: str | None = None


@dataclasses.dataclass
class Step:
    name: str
    status: int
    ms: float
    ok: bool
    detail: str = ""


def _identity_url(target: SmokeTarget, method: str) -> str:
    host = (
        f"http://{target.auth_emulator}/identitytoolkit.googleapis.com"
        if target.auth_emulator
        else "https://identitytoolkit.googleapis.com"
    )
    return f"{host}/v1/accounts:{method}?key={target.api_key}"


def sign_in(target: SmokeTarget, uid: str) -> str:
    """An ID token for a new user `uid`, the way custom-auth apps get one."""
    import firebase_admin
    from firebase_admin import auth

    if target.auth_emulator:
        os.environ["FIREBASE_AUTH_EMULATOR_HOST"] = target.auth_emulator
    name = f"smoke-{target.project_id}"
    try:
        app = firebase_admin.get_app(name)
    except ValueError:
        options: dict[str, Any] = {"projectId": target.project_id}
        credential = None
        if not target.auth_emulator:
            # Signed through IAM signBlob by the caller's own identity: no key file anywhere.
            import google.auth

            credential_obj, _ = google.auth.default()
            email = getattr(credential_obj, "service_account_email", None)
            if email:
                options["serviceAccountId"] = email
            from firebase_admin import credentials

            credential = credentials.ApplicationDefault()
        app = firebase_admin.initialize_app(credential, options, name=name)
    custom = auth.create_custom_token(uid, app=app).decode()
    answer = requests.post(
        _identity_url(target, "signInWithCustomToken"),
        json={"token": custom, "returnSecureToken": True},
        timeout=TIMEOUT_S,
    )
    answer.raise_for_status()
    return str(answer.json()["idToken"])


def app_check_token(target: SmokeTarget) -> str | None:
    if not (target.app_id and target.app_check_debug_token):
        return None
    url = (
        f"https://firebaseappcheck.googleapis.com/v1/projects/{target.project_id}/apps/"
        f"{target.app_id}:exchangeDebugToken?key={target.api_key}"
    )
    answer = requests.post(url, json={"debugToken": target.app_check_debug_token}, timeout=30)
    answer.raise_for_status()
    return str(answer.json()["token"])


def _timestamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def run(target: SmokeTarget, report: Callable[[Step], None] = lambda _s: None) -> list[Step]:
    """Every callable once, for a fresh user; raises SmokeFailure after erasing the user."""
    uid = f"smoke-{secrets.token_hex(6)}"
    token = sign_in(target, uid)
    app_check = app_check_token(target)
    session = requests.Session()
    steps: list[Step] = []

    def call(
        name: str,
        data: Any,
        check: Callable[[Any], bool],
        *,
        expect: int = 200,
        auth: bool = True,
    ) -> Any:
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {token}"
        if app_check:
            headers["X-Firebase-AppCheck"] = app_check
        started = time.monotonic()
        answer = session.post(
            f"{target.base_url.rstrip('/')}/{name}",
            json={"data": data},
            headers=headers,
            timeout=TIMEOUT_S,
        )
        ms = (time.monotonic() - started) * 1000
        try:
            body = answer.json()
        except ValueError:
            body = {"raw": answer.text[:200]}
        result = body.get("result") if isinstance(body, dict) else None
        ok = answer.status_code == expect and (expect != 200 or check(result))
        step = Step(name, answer.status_code, round(ms, 1), ok, "" if ok else str(body)[:300])
        steps.append(step)
        report(step)
        if not ok:
            raise SmokeFailure(f"{name}: HTTP {answer.status_code}: {step.detail}")
        return result

    now = datetime.now(UTC)
    device = "smoke-device"
    schedule_id = "smoke"
    try:
        call("bootstrapAccount", {"timezone": "UTC"}, lambda _r: True, auth=False, expect=401)
        call("bootstrapAccount", {"timezone": "UTC"}, lambda r: r["user"]["uid"] == uid)
        call(
            "registerDevice",
            {"deviceId": device, "platform": "android", "fcmToken": f"{uid}-token"},
            lambda r: r["device"]["deviceId"] == device,
        )
        session_doc = {
            "id": "smoke-session",
            "startedAt": _timestamp(now),
            "status": "running",
            "label": "smoke",
            "blockedApps": [],
            "updatedAt": _timestamp(now),
            "deviceId": device,
        }
        mutation = {"mutationId": "m1", "op": "upsert", "session": session_doc}
        call(
            "syncFocusSessions",
            {"deviceId": device, "cursor": None, "mutations": [mutation]},
            lambda r: r["applied"] == ["m1"] and isinstance(r["cursor"], str),
        )
        schedule = {
            "id": schedule_id,
            "name": "smoke",
            "timezone": "UTC",
            "days": ["mon"],
            "start": "03:00",
            "end": "03:30",
            "blockedApps": [],
            "enabled": False,
            "updatedAt": _timestamp(now),
        }
        call("upsertSchedule", {"schedule": schedule}, lambda r: "schedule" in r)
        call(
            "listSchedules",
            {},
            lambda r: [s["id"] for s in r["schedules"]] == [schedule_id],
        )
        call("deleteSchedule", {"id": schedule_id}, lambda r: r["deleted"] is True)
        call("exportAccount", {}, lambda r: r["user"] is not None and "sessions" in r)
        call("unregisterDevice", {"deviceId": device}, lambda _r: True)
    except SmokeFailure:
        _erase_quietly(call)
        raise
    # The erasure is a step of its own; after a failure it only cleans up.
    call("deleteAccount", {"confirm": True}, lambda r: r == {"deleted": True})
    return steps


def _erase_quietly(call: Callable[..., Any]) -> None:
    """Erase the smoke user after a failure without hiding that failure."""
    # The first failure is the one to report; the scheduled sweep finishes erasures anyway.
    with contextlib.suppress(SmokeFailure, requests.RequestException):
        call("deleteAccount", {"confirm": True}, lambda _r: True)
