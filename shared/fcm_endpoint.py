"""The one seam that points firebase-admin's messaging at a local FCM stand-in.

FCM has no emulator, and firebase-admin (7.x) has no option or environment variable for the FCM
endpoint: `firebase_admin.messaging._MessagingService.FCM_URL` is a class constant, formatted
with the project id once, when an app's messaging service is first built. The local stack
answers FCM's HTTP v1 API with `devstack.fcm_standin`, so something has to rewrite that
constant. This module is the only place in the project that touches firebase-admin internals;
everything else sends through the public `firebase_admin.messaging` API.

Call `point_messaging_at` once at start-up, before the first send: an app whose messaging
service already exists keeps the URL it was built with. `shared/push/h2_sender.py` sends
without firebase-admin's transport and asks `send_url` for the same URL (and `encode` for
firebase-admin's JSON of a message), so this stays the one place that says where FCM is.

Only `messages:send` (used by `send`, `send_each`, `send_each_async` and the multicast
variants) is redirected; topic management and the Instance ID API still point at Google.
"""

from __future__ import annotations

import sys

# firebase-admin formats the constant with the project id as `{0}`.
_SEND_PATH = "/v1/projects/{0}/messages:send"

_production_url: str | None = None  # the constant as shipped, kept while redirected


def point_messaging_at(base_url: str | None) -> None:
    """Send FCM messages to `{base_url}/v1/projects/{project}/messages:send`.

    `base_url` is the stand-in's root URL (the local stack descriptor's `fcmUrl`). With `None`
    (production) nothing is imported or changed, except that a redirection made earlier in this
    process is undone. Calling it again with the same value changes nothing.
    """
    global _production_url  # noqa: PLW0603 - the shipped URL must survive repeated calls

    if base_url is None:
        # Importing firebase_admin.messaging costs cold-start time; production never needs it here.
        loaded = sys.modules.get("firebase_admin.messaging")
        if loaded is not None and _production_url is not None:
            loaded._MessagingService.FCM_URL = _production_url
            _production_url = None
        return

    from firebase_admin import messaging

    service = messaging._MessagingService
    current = getattr(service, "FCM_URL", None)
    if not isinstance(current, str) or "{0}" not in current:
        # A firebase-admin upgrade moved the endpoint: fail loudly instead of reaching Google.
        raise RuntimeError(
            "firebase_admin.messaging._MessagingService.FCM_URL is gone or changed shape; "
            "update shared/fcm_endpoint.py for this firebase-admin version"
        )
    if _production_url is None:
        _production_url = current
    escaped = base_url.rstrip("/").replace("{", "{{").replace("}", "}}")
    service.FCM_URL = escaped + _SEND_PATH


def send_url(project_id: str) -> str:
    """The `messages:send` URL firebase-admin sends to now: Google's, or the stand-in's after
    `point_messaging_at`."""
    from firebase_admin import messaging

    url: str = messaging._MessagingService.FCM_URL.format(project_id)
    return url


def encode(message: object) -> dict[str, object]:
    """firebase-admin's JSON form of a `messaging.Message` (what `send` puts in the body)."""
    from firebase_admin import messaging

    encoded: dict[str, object] = messaging._MessagingService.encode_message(message)
    return encoded
