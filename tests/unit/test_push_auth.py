"""Who may call deliverPush: the local shared secret, and production OIDC tokens verified by
google.oauth2.id_token against a (locally generated) signing certificate."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt, jwt
from pydantic import Field

from shared.push import auth
from shared.push.auth import authenticate, authenticate_push, google_oidc_verifier
from shared.push.tasks import TASK_SECRET_HEADER
from shared.settings import Settings

INVOKER = "tasks-invoker@demo-focus.iam.gserviceaccount.com"
URL = "https://europe-west1-demo-focus.cloudfunctions.net/deliverPush"


def local() -> Settings:
    return Settings(env="local", task_shared_secret="s3cret")


def production(monkeypatch: pytest.MonkeyPatch) -> Settings:
    # A local stack started earlier in the session leaves its variables in the environment.
    for var in list(os.environ):
        if var.startswith("FOCUS_") or var.endswith("_EMULATOR_HOST"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("FOCUS_REDIS_URL", "redis://10.0.0.3:6379/0")  # Terraform sets it
    return Settings(env="production", project_id="demo-focus", tasks_invoker_email=INVOKER)


def test_local_secret() -> None:
    header = TASK_SECRET_HEADER.lower()
    assert authenticate({header: "s3cret"}, local()).ok
    assert authenticate({}, local()).status == 401
    assert authenticate({header: "guess"}, local()).status == 403
    # A bearer token is no substitute for the secret locally.
    assert authenticate({"authorization": "Bearer x"}, local()).status == 401


class Keys:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(1)
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=1))
            .sign(self.key, hashes.SHA256())
        )
        self.certs = {"kid-1": cert.public_bytes(serialization.Encoding.PEM).decode()}
        pem = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        self.signer = crypt.RSASigner.from_string(pem, "kid-1")  # type: ignore[no-untyped-call]

    def token(self, **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": "https://accounts.google.com",
            "aud": URL,
            "email": INVOKER,
            "email_verified": True,
            "iat": now,
            "exp": now + 600,
            "sub": "1234",
            **claims,
        }
        encoded: bytes = jwt.encode(self.signer, payload)  # type: ignore[no-untyped-call]
        return encoded.decode()


class FakeTransport:
    """Answers Google's certificate URL with our test certificate; counts the fetches."""

    def __init__(self, certs: dict[str, str]) -> None:
        self.certs = certs
        self.calls = 0

    def __call__(self, url: str, method: str = "GET", **kwargs: Any) -> Any:
        self.calls += 1

        class Response:
            status = 200
            data = json.dumps(self.certs).encode()
            headers: ClassVar[dict[str, str]] = {}

        return Response()


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


@pytest.fixture
def transport(keys: Keys, monkeypatch: pytest.MonkeyPatch) -> FakeTransport:
    fake = FakeTransport(keys.certs)
    caching = auth._CachingRequest()
    monkeypatch.setattr(caching, "_inner", fake)
    monkeypatch.setattr(auth, "_certificates_request", lambda: caching)
    return fake


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_oidc_token_of_the_invoker_passes(
    keys: Keys, transport: FakeTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = production(monkeypatch)
    assert authenticate(bearer(keys.token()), settings, google_oidc_verifier).ok
    assert authenticate(bearer(keys.token()), settings, google_oidc_verifier).ok
    assert transport.calls == 1  # certificates are cached between tasks


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"email": "someone@example.com"}, "another account"),
        ({"email_verified": False}, "another account"),
        ({"aud": "https://example.com/deliverPush"}, "invalid"),
        ({"iss": "https://evil.example.com"}, "invalid"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "invalid"),
    ],
)
def test_other_tokens_are_refused(
    keys: Keys,
    transport: FakeTransport,
    monkeypatch: pytest.MonkeyPatch,
    claims: dict[str, Any],
    why: str,
) -> None:
    result = authenticate(bearer(keys.token(**claims)), production(monkeypatch))
    assert (result.ok, result.status) == (False, 403)
    assert why in result.reason


def test_a_token_signed_by_another_key_is_refused(
    keys: Keys, transport: FakeTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    forged = Keys().token()  # same claims and key id, another private key
    result = authenticate(bearer(forged), production(monkeypatch))
    assert (result.ok, result.status) == (False, 403)


def test_no_bearer_token_is_unauthenticated(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = production(monkeypatch)
    assert authenticate({}, settings).status == 401
    assert authenticate({"authorization": "Basic abc"}, settings).status == 401
    assert authenticate({TASK_SECRET_HEADER.lower(): "s3cret"}, settings).status == 401


RUN_URL = "https://deliverpush-123456.europe-west1.run.app"


class SettingsWithRunUrls(Settings):
    """Settings once they carry FOCUS_HTTP_FUNCTION_URLS (Terraform sets it)."""

    http_function_urls: dict[str, str] = Field(default_factory=dict)


def test_the_cloud_run_url_the_queues_name_is_accepted_too(
    keys: Keys, transport: FakeTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    production(monkeypatch)  # clears the environment
    settings = SettingsWithRunUrls(
        env="production",
        project_id="demo-focus",
        tasks_invoker_email=INVOKER,
        http_function_urls={"deliverPush": RUN_URL},
    )
    assert authenticate(bearer(keys.token(aud=RUN_URL)), settings).ok
    assert authenticate(bearer(keys.token()), settings).ok
    elsewhere = keys.token(aud="https://other-123456.europe-west1.run.app")
    assert authenticate(bearer(elsewhere), settings).status == 403


# -- Pub/Sub push targets (authenticate_push) ----------------------------------------------------

PUSHER = "pubsub-pusher@demo-focus.iam.gserviceaccount.com"
MIRROR_URL = "https://mirrorchanges-123456.europe-west1.run.app"


def push_production(monkeypatch: pytest.MonkeyPatch, audience: str | None = MIRROR_URL) -> Settings:
    production(monkeypatch)  # clears the environment
    return Settings(
        env="production",
        project_id="demo-focus",
        tasks_invoker_email=INVOKER,
        pubsub_pusher_email=PUSHER,
        pubsub_push_audience=audience,
    )


def test_push_local_secret_in_the_query_or_the_header() -> None:
    assert authenticate_push({}, {auth.PUSH_SECRET_PARAM: "s3cret"}, local()).ok
    assert authenticate_push({TASK_SECRET_HEADER.lower(): "s3cret"}, {}, local()).ok
    assert authenticate_push({}, {}, local()).status == 401
    assert authenticate_push({}, {auth.PUSH_SECRET_PARAM: "guess"}, local()).status == 403


def test_the_push_subscriptions_token_passes(
    keys: Keys, transport: FakeTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = keys.token(email=PUSHER, aud=MIRROR_URL)
    assert authenticate_push(bearer(token), {}, push_production(monkeypatch)).ok


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        # Cloud Tasks' own token, for deliverPush: another account and another audience.
        ({}, "invalid"),
        ({"aud": MIRROR_URL}, "another account"),
        # The pusher's token for another push target cannot be replayed here.
        (
            {"email": PUSHER, "aud": "https://refillpushhorizon-123456.europe-west1.run.app"},
            "invalid",
        ),
        ({"email": PUSHER, "aud": MIRROR_URL, "iss": "https://evil.example.com"}, "invalid"),
        ({"email": PUSHER, "aud": MIRROR_URL, "email_verified": False}, "another account"),
    ],
)
def test_other_push_tokens_are_refused(
    keys: Keys,
    transport: FakeTransport,
    monkeypatch: pytest.MonkeyPatch,
    claims: dict[str, Any],
    why: str,
) -> None:
    result = authenticate_push(bearer(keys.token(**claims)), {}, push_production(monkeypatch))
    assert (result.ok, result.status) == (False, 403)
    assert why in result.reason


def test_push_without_a_token_or_settings_is_refused(
    keys: Keys, transport: FakeTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = push_production(monkeypatch)
    assert authenticate_push({}, {}, settings).status == 401
    # The local secret means nothing in production.
    assert authenticate_push({}, {auth.PUSH_SECRET_PARAM: "s3cret"}, settings).status == 401
    # Without the settings Terraform sets, every push is refused rather than accepted.
    token = keys.token(email=PUSHER, aud=MIRROR_URL)
    unset = push_production(monkeypatch, audience=None)
    assert authenticate_push(bearer(token), {}, unset).status == 403
