"""ID tokens for tests: real ones from the Auth emulator, and hand-made unsigned ones.

The Auth emulator's tokens are what the apps send. Hand-made tokens (alg none, as the emulators
accept) let tests set claims the emulator would not produce: an expired `exp`, another project.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsigned_token(
    uid: str,
    project_id: str,
    *,
    expires_in: int = 3600,
    issued_ago: int = 0,
    audience: str | None = None,
    **claims: Any,
) -> str:
    """An emulator-style ID token (alg none); `expires_in` < 0 makes it expired."""
    now = int(time.time())
    aud = audience or project_id
    payload = {
        "iss": f"https://securetoken.google.com/{aud}",
        "aud": aud,
        "auth_time": now - issued_ago,
        "user_id": uid,
        "sub": uid,
        "iat": now - issued_ago,
        "exp": now + expires_in,
        "firebase": {"identities": {}, "sign_in_provider": "custom"},
        **claims,
    }
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(payload)}."


@dataclass
class User:
    uid: str
    id_token: str
    refresh_token: str
    email: str


def sign_up(auth_host: str, email: str | None = None, password: str = "s3cret-pass") -> User:
    """A new email/password user in the Auth emulator, signed in, as an app would be."""
    email = email or f"user-{uuid.uuid4().hex[:12]}@example.com"
    url = f"http://{auth_host}/identitytoolkit.googleapis.com/v1/accounts:signUp?key=fake-api-key"
    response = requests.post(
        url, json={"email": email, "password": password, "returnSecureToken": True}, timeout=10
    )
    response.raise_for_status()
    body = response.json()
    return User(body["localId"], body["idToken"], body["refreshToken"], email)


def sign_in(auth_host: str, email: str, password: str = "s3cret-pass") -> User:
    url = (
        f"http://{auth_host}/identitytoolkit.googleapis.com/v1/"
        "accounts:signInWithPassword?key=fake-api-key"
    )
    response = requests.post(
        url, json={"email": email, "password": password, "returnSecureToken": True}, timeout=10
    )
    response.raise_for_status()
    body = response.json()
    return User(body["localId"], body["idToken"], body["refreshToken"], email)


def auth_time(id_token: str) -> datetime:
    """When the token's user signed in (its `auth_time` claim: whole seconds)."""
    payload = id_token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return datetime.fromtimestamp(int(claims["auth_time"]), UTC)


def signed_in_after(id_token: str, moment: datetime) -> str | None:
    """The token if its sign-in is strictly later than `moment` (what a deleted account's
    guard asks of a new token), else None: for polling a sign-in with `wait_for`."""
    return id_token if auth_time(id_token) > moment else None
