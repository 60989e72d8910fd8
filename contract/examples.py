"""One request and one answer per callable: the examples of `docs/api/openapi.json`.

They are test data first. `tests/unit/test_contract_document.py` parses every request with the
function's request model and every result with its result model; `tests/e2e/test_contract_e2e.py`
sends the requests, in this order, for a new user on the local stack and checks each real answer
against the document, and sends the refused requests of `ERRORS` expecting exactly their answers.
An example that stops being true fails a test.
"""

from __future__ import annotations

from typing import Any

_SESSION = {
    "id": "s-7f3a",
    "startedAt": "2026-11-22T09:00:00.000Z",
    "plannedEndAt": "2026-11-22T09:50:00.000Z",
    "endedAt": None,
    "status": "running",
    "label": "Deep work",
    "blockedApps": ["com.example.social"],
    "scheduleId": None,
    "updatedAt": "2026-11-22T09:00:00.000Z",
    "deviceId": "ios-6B1E",
}
_SCHEDULE = {
    "id": "weekday-mornings",
    "name": "Weekday mornings",
    "timezone": "Europe/Paris",
    "days": ["mon", "tue", "wed", "thu", "fri"],
    "start": "09:00",
    "end": "11:30",
    "blockedApps": ["com.example.social"],
    "enabled": True,
    "updatedAt": "2026-11-22T08:00:00.000Z",
}
_USER = {
    "uid": "Xk2pL9",
    "timezone": "Europe/Paris",
    "locale": "fr-FR",
    "createdAt": "2026-11-22T08:59:00.000Z",
}
_DEVICE = {
    "deviceId": "ios-6B1E",
    "platform": "ios",
    "appVersion": "1.4.0",
    "registeredAt": "2026-11-22T08:59:01.000Z",
}

EXAMPLES: dict[str, dict[str, Any]] = {
    "bootstrapAccount": {
        "request": {"timezone": "Europe/Paris", "locale": "fr-FR"},
        "result": {"user": _USER, "created": True},
    },
    "registerDevice": {
        "request": {
            "deviceId": "ios-6B1E",
            "platform": "ios",
            "fcmToken": "fcm-token-of-this-install",
            "appVersion": "1.4.0",
        },
        "result": {"device": _DEVICE},
    },
    "upsertSchedule": {
        "request": {"schedule": _SCHEDULE},
        "result": {
            "schedule": _SCHEDULE,
            "nextOccurrences": [
                {"startAt": "2026-11-23T08:00:00.000Z", "endAt": "2026-11-23T10:30:00.000Z"},
                {"startAt": "2026-11-24T08:00:00.000Z", "endAt": "2026-11-24T10:30:00.000Z"},
            ],
        },
    },
    "listSchedules": {"request": {}, "result": {"schedules": [_SCHEDULE]}},
    "syncFocusSessions": {
        "request": {
            "deviceId": "ios-6B1E",
            "cursor": None,
            "mutations": [{"mutationId": "m-0001", "op": "upsert", "session": _SESSION}],
        },
        "result": {
            "applied": ["m-0001"],
            "rejected": [],
            "changes": [
                _SESSION,
                {"id": "s-51c0", "deleted": True, "updatedAt": "2026-11-21T18:00:00.000Z"},
            ],
            "cursor": "c1.eyJlIjoxLCJzIjoyfQ",
            "hasMore": False,
        },
    },
    "exportAccount": {
        "request": {},
        "result": {
            "generatedAt": "2026-11-22T09:05:00.000Z",
            "user": _USER,
            "devices": [_DEVICE],
            "schedules": [_SCHEDULE],
            "sessions": [_SESSION],
            "cursor": None,
            "hasMore": False,
            "signIn": {
                "email": "ada@example.com",
                "emailVerified": True,
                "phoneNumber": None,
                "displayName": "Ada",
                "providers": ["apple.com", "password"],
                "createdAt": "2026-01-05T18:30:00.000Z",
                "lastSignInAt": "2026-11-22T08:58:00.000Z",
            },
            "pushPlans": [
                {
                    "scheduleId": "weekday-mornings",
                    "enabled": True,
                    "plannedUntil": "2026-11-25T09:00:00.000Z",
                }
            ],
            "pushLog": [
                {"deviceId": "ios-6B1E", "sentAt": "2026-11-22T08:00:00.000Z", "kind": "schedule"}
            ],
        },
    },
    "deleteSchedule": {"request": {"id": "weekday-mornings"}, "result": {"deleted": True}},
    "unregisterDevice": {"request": {"deviceId": "ios-6B1E"}, "result": {"removed": True}},
    "deleteAccount": {"request": {"confirm": True}, "result": {"deleted": True}},
}

# A refused request and its answer, for the functions whose error answers the document shows.
ERRORS: dict[str, dict[str, Any]] = {
    "bootstrapAccount": {
        "request": {"timezone": "Not/AZone"},
        "answer": {
            "error": {
                "status": "INVALID_ARGUMENT",
                "message": "data.timezone: unknown IANA time zone",
                "details": {"fields": ["data.timezone"]},
            }
        },
    },
    "deleteAccount": {
        "request": {"confirm": False},
        "answer": {
            "error": {
                "status": "INVALID_ARGUMENT",
                "message": "data.confirm: must be true to delete the account",
                "details": {"fields": ["data.confirm"]},
            }
        },
    },
}
