"""One typed settings object for every function, read from `FOCUS_*` environment variables.

Local defaults make `make dev` work with no configuration; `FOCUS_ENV=production` turns on the
validators that refuse unsafe values (emulators, App Check off, shared task secrets).
"""

from __future__ import annotations

import os
from typing import Literal, Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.once import once

Environment = Literal["local", "test", "production"]

_EMULATOR_VARS = (
    "FIRESTORE_EMULATOR_HOST",
    "FIREBASE_AUTH_EMULATOR_HOST",
    "PUBSUB_EMULATOR_HOST",
)


class Settings(BaseSettings):
    """Every knob of the backend. Field names map to `FOCUS_<NAME>` environment variables."""

    model_config = SettingsConfigDict(
        env_prefix="FOCUS_", frozen=True, extra="ignore", populate_by_name=True
    )

    env: Environment = Field("local", description="Where this runs; production is strict.")
    project_id: str = Field(
        default_factory=lambda: (
            os.environ.get("GOOGLE_CLOUD_PROJECT")
            or os.environ.get("GCLOUD_PROJECT")
            or "demo-focus"
        ),
        description="GCP / Firebase project id.",
    )
    region: str = Field("europe-west1", description="Region of functions, queues and SQL.")
    enforce_app_check: bool | None = Field(
        None, description="Reject callable requests without a valid App Check token."
    )
    rate_limit_per_minute: int = Field(
        120,
        ge=60,
        description="Per user and function over every instance (the registry may add stricter "
        "limits); the API promises 60/min.",
    )
    redis_url: str | None = Field(
        None,
        description="redis:// URL of the store the rate limits share (Memorystore in "
        "production, the stack's redis-server locally); unset: this process's memory.",
    )
    redis_password: SecretStr | None = Field(
        None, description="AUTH string of that Redis (production: from Secret Manager)."
    )
    redis_timeout_s: float = Field(
        0.25, gt=0, le=5, description="How long a rate-limit check waits for Redis."
    )

    # Push delivery.
    fcm_url: str | None = Field(
        None, description="Base URL of a local FCM HTTP v1 stand-in; unset in production."
    )
    tasks_emulator_host: str | None = Field(
        None, description="host:port of a local Cloud Tasks emulator; unset in production."
    )
    functions_base_url: str | None = Field(
        None,
        description="Base URL the functions are reached at (Cloud Tasks targets); production "
        "default https://<region>-<project>.cloudfunctions.net.",
    )
    tasks_invoker_email: str | None = Field(
        None,
        validation_alias=AliasChoices("FOCUS_TASKS_INVOKER_SA", "FOCUS_TASKS_INVOKER_EMAIL"),
        description="Service account Cloud Tasks mints OIDC tokens as (production; Terraform "
        "sets FOCUS_TASKS_INVOKER_SA).",
    )
    http_function_urls: dict[str, str] = Field(
        default_factory=dict,
        description="JSON object: HTTP function name -> its Cloud Run URL (the audience of the "
        "OIDC tokens Cloud Tasks mints); set by Terraform.",
    )
    task_shared_secret: str | None = Field(
        None,
        description="Local stand-in for the OIDC tokens of Cloud Tasks and Pub/Sub push; "
        "refused in production.",
    )
    pubsub_pusher_email: str | None = Field(
        None,
        validation_alias=AliasChoices("FOCUS_PUBSUB_PUSHER_SA", "FOCUS_PUBSUB_PUSHER_EMAIL"),
        description="Service account whose OIDC token Pub/Sub push deliveries carry (set by "
        "Terraform); without it every push is refused in production.",
    )
    pubsub_push_audience: str | None = Field(
        None,
        description="Audience of the push deliveries' OIDC tokens: this function's Cloud Run URL "
        "(set by Terraform on Pub/Sub push targets).",
    )

    # PostgreSQL mirror.
    postgres_dsn: str | None = Field(
        None,
        description="libpq URL of PostgreSQL (local stack; operators through the Cloud SQL Auth "
        "proxy); ignored when FOCUS_SQL_INSTANCE is set.",
    )
    sql_instance: str | None = Field(
        None,
        description="Cloud SQL connection name project:region:instance; when set, connections "
        "go through the Cloud SQL Python connector with IAM auth (production).",
    )
    sql_database: str = Field("focus", description="Database name on the Cloud SQL instance.")
    sql_ip_type: Literal["private", "public", "psc"] = Field(
        "private", description="How the connector reaches the instance (private IP in prod)."
    )
    sql_iam_user: str | None = Field(
        None,
        description="IAM database user of this function's service account (its email without "
        "`.gserviceaccount.com`).",
    )
    sql_pool_size: int = Field(
        2,
        ge=1,
        le=20,
        description="Connections per instance (the function's concurrency); max_instances x "
        "pool summed over SQL functions stays under max_connections (registry test).",
    )
    sql_pool_recycle_s: int = Field(
        1800, ge=60, description="Reopen pooled connections older than this (IAM tokens expire)."
    )
    publish_timeout_s: float = Field(
        30.0,
        gt=0,
        le=300,
        description="How long a write waits for Pub/Sub to take its change events (after its "
        "commit); then the call answers UNAVAILABLE and the app's retry republishes them.",
    )
    phase_cache_s: float = Field(
        30.0,
        ge=0,
        description="How long an instance reuses the migration phases it read (config/migration).",
    )

    # Traces (shared/tracing.py).
    trace_sample_ratio: float = Field(
        0.01,
        ge=0,
        le=1,
        description="Share of new traces recorded (a caller's sampling decision is kept); 0 "
        "turns tracing off and OpenTelemetry is never imported.",
    )
    trace_file: str | None = Field(
        None,
        description="Local: append spans to this JSON-lines file (`focusctl trace show`); "
        "unset, spans go to Cloud Trace in production and nowhere elsewhere.",
    )

    @model_validator(mode="after")
    def _production_is_strict(self) -> Self:
        if self.env != "production":
            return self
        problems: list[str] = []
        if self.enforce_app_check is False:
            problems.append("FOCUS_ENFORCE_APP_CHECK must not be false in production")
        if self.fcm_url or self.tasks_emulator_host:
            problems.append("FOCUS_FCM_URL / FOCUS_TASKS_EMULATOR_HOST are local-only")
        if self.task_shared_secret:
            problems.append("FOCUS_TASK_SHARED_SECRET is local-only; production uses OIDC")
        if any(os.environ.get(var) for var in _EMULATOR_VARS):
            problems.append("emulator host variables are set in production")
        if not self.redis_url:
            problems.append("FOCUS_REDIS_URL is required in production: rate limits are shared")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def app_check_enforced(self) -> bool:
        if self.enforce_app_check is None:
            return self.env == "production"
        return self.enforce_app_check

    @property
    def base_url(self) -> str:
        if self.functions_base_url:
            return self.functions_base_url.rstrip("/")
        return f"https://{self.region}-{self.project_id}.cloudfunctions.net"

    @property
    def emulated(self) -> bool:
        return bool(os.environ.get("FIRESTORE_EMULATOR_HOST"))


@once
def get_settings() -> Settings:
    """The process-wide settings, read once (tests call `get_settings.cache_clear()`)."""
    return Settings()
