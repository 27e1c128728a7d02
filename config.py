"""Configuration classes: the only module that reads the environment.

`create_app()` picks a class from `FLASK_ENV`-free rules: tests pass `TestConfig`
explicitly, `wsgi.py` uses `config_from_env()`. Secrets have no defaults outside
debug and testing (the factory refuses to start without them).
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _default_sqlite_url() -> str:
    instance = BASE_DIR / "instance"
    instance.mkdir(exist_ok=True)
    return f"sqlite:///{instance / 'notifier.db'}"


def database_url(raw: str | None) -> str | None:
    """Pin PostgreSQL URLs to psycopg2 (SQLAlchemy 2.1 defaults to psycopg 3) and
    accept the `postgres://` scheme that Heroku-style platforms hand out."""
    if not raw:
        return None
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg2://" + raw[len(prefix) :]
    return raw


def _engine_options(url: str) -> dict:
    # hide_parameters: an error's text (and a log line quoting it) never holds a statement's
    # values: password hashes, token ids, addresses.
    if url.startswith("sqlite"):
        # SQLite: wait for the writer lock instead of failing with "database is locked".
        return {"connect_args": {"timeout": 30}, "hide_parameters": True}
    # No pre-ping: it costs a round trip on every request (measured in
    # docs/operations/performance.md). A connection that died with the server fails its
    # query instead; the pool drops it and the request answers 503 (see errors.py).
    return {
        "pool_size": _env_int("DB_POOL_SIZE", 5),
        "max_overflow": _env_int("DB_MAX_OVERFLOW", 5),
        "pool_recycle": 1800,
        "hide_parameters": True,
        # libpq waits for ever by default: a server (or a proxy in front of it) that
        # accepts and never answers would hold a worker until gunicorn kills it, and
        # /ready would never say 503.
        "connect_args": {"connect_timeout": _env_int("DB_CONNECT_TIMEOUT_S", 5)},
    }


# The introduction Swagger UI shows above the routes (the OpenAPI `info.description`).
API_DESCRIPTION = """\
Send **email, SMS and push** notifications; a dispatcher delivers each one asynchronously,
with retries, and its status moves `pending` → `sending` → `sent` or `failed`.

**Start here**: register with `POST /users`, log in with `POST /auth/login`, click
**Authorize** and paste the `access_token` (15 minutes; `POST /auth/refresh` with the
`refresh_token` makes a new one). A server uses an **API key** instead (`POST /api-keys`,
`ntf_live_…` or `ntf_test_…`): it calls the `/notifications` routes only, within its scopes;
a test key's notifications are answered by the simulator and never reach a person.

**Conventions**: every error is `{"code", "status", "message"[, "errors"]}`, and a 422 names
each invalid field in `errors`. Lists are paged with `page` and `page_size` (at most 100),
totals in the `X-Pagination` header. `POST /notifications` takes an `Idempotency-Key` header:
a retry with the same key answers the first result. `POST /webhooks` registers an HTTPS
endpoint that receives signed status events.
"""


class BaseConfig:
    """Settings shared by every environment of the Notification API."""

    DEBUG = _env_bool("FLASK_DEBUG")
    TESTING = False

    SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("DATABASE_URL")) or _default_sqlite_url()
    SQLALCHEMY_ENGINE_OPTIONS = _engine_options(SQLALCHEMY_DATABASE_URI)
    SQLALCHEMY_TRACK_MODIFICATIONS = False

    JWT_SECRET_KEY = os.environ.get("JWT_SECRET_KEY", "")
    JWT_ACCESS_TOKEN_EXPIRES = _env_int("JWT_ACCESS_TOKEN_EXPIRES_S", 900)
    JWT_REFRESH_TOKEN_EXPIRES = _env_int("JWT_REFRESH_TOKEN_EXPIRES_S", 2_592_000)
    JWT_TOKEN_LOCATION = ["headers"]
    JWT_ALGORITHM = "HS256"
    JWT_DECODE_ALGORITHMS = ["HS256"]

    # Argon2id cost: one of OWASP's equivalent minimums (7 MiB, 5 passes). It costs
    # about as much time as 19 MiB x 2 but keeps a worker's peak memory under 80 MB.
    PASSWORD_HASH_TIME_COST = _env_int("PASSWORD_HASH_TIME_COST", 5)
    PASSWORD_HASH_MEMORY_KIB = _env_int("PASSWORD_HASH_MEMORY_KIB", 7_168)
    PASSWORD_HASH_PARALLELISM = _env_int("PASSWORD_HASH_PARALLELISM", 1)

    MAX_CONTENT_LENGTH = 65_536
    # POST /batches only: up to 50 000 recipients in one body.
    BATCH_MAX_CONTENT_LENGTH = 16 * 1024 * 1024

    # database://: counters in our own database (notifier/ratelimit.py), shared by
    # every worker and host; memory:// (one process) and redis://… also work.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "database://")
    # In `limits` notation ("10 per minute", "100/hour"); a 429 carries Retry-After.
    # Login attempts per (client address, email), per email from all addresses, and
    # per client address for all emails (an IPv6 client counts by its /64).
    RATELIMIT_LOGIN = os.environ.get("RATELIMIT_LOGIN", "10 per minute")
    RATELIMIT_LOGIN_PER_EMAIL = os.environ.get("RATELIMIT_LOGIN_PER_EMAIL", "50 per hour")
    RATELIMIT_LOGIN_PER_ADDRESS = os.environ.get("RATELIMIT_LOGIN_PER_ADDRESS", "100 per hour")
    # How many proxies in front of the API set X-Forwarded-For; 0: the client
    # address is the socket's peer and the header is ignored.
    TRUSTED_PROXY_COUNT = _env_int("TRUSTED_PROXY_COUNT", 0)

    IDEMPOTENCY_KEY_TTL_S = _env_int("IDEMPOTENCY_KEY_TTL_S", 86_400)

    # The address the world reaches the API at (https://notify.example.com): receipt
    # callbacks and one-click unsubscribe links are built on it (unset: no links), and
    # an https:// one marks the console's session cookie Secure.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "").rstrip("/")
    # Checks the X-Twilio-Signature of delivery receipts; unset: POST /receipts/twilio is 404.
    TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
    # Signs unsubscribe tokens and the console's session cookie (at least 32 bytes);
    # unset: derived from JWT_SECRET_KEY.
    SECRET_KEY = os.environ.get("SECRET_KEY", "")

    DELIVERY_SERVICE_URL = os.environ.get("DELIVERY_SERVICE_URL", "http://localhost:8001")
    # Sent as `Authorization: Bearer …` with every request; the delivery service's value.
    DELIVERY_API_TOKEN = os.environ.get("DELIVERY_API_TOKEN", "")
    DELIVERY_TIMEOUT_S = _env_float("DELIVERY_TIMEOUT_S", 10.0)
    DELIVERY_MAX_ATTEMPTS = _env_int("DELIVERY_MAX_ATTEMPTS", 5)
    DELIVERY_BACKOFF_BASE_S = _env_float("DELIVERY_BACKOFF_BASE_S", 2.0)
    DELIVERY_BACKOFF_MAX_S = _env_float("DELIVERY_BACKOFF_MAX_S", 300.0)
    DELIVERY_LEASE_S = _env_int("DELIVERY_LEASE_S", 60)
    DELIVERY_CONCURRENCY = _env_int("DELIVERY_CONCURRENCY", 192)
    DELIVERY_BATCH_SIZE = _env_int("DELIVERY_BATCH_SIZE", 128)
    DELIVERY_POLL_INTERVAL_S = _env_float("DELIVERY_POLL_INTERVAL_S", 1.0)

    # Metrics and logs (notifier/observability): /metrics and its hooks exist only with a token.
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
    WORKER_METRICS_PORT = _env_int("WORKER_METRICS_PORT", 0)
    WORKER_METRICS_HOST = os.environ.get("WORKER_METRICS_HOST", "0.0.0.0")  # noqa: S104
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
    # Webhooks (notifier/webhooks): the retry rules are in docs/guides/webhooks.md.
    WEBHOOK_TIMEOUT_S = _env_float("WEBHOOK_TIMEOUT_S", 10.0)
    WEBHOOK_MAX_ATTEMPTS = _env_int("WEBHOOK_MAX_ATTEMPTS", 8)
    WEBHOOK_BACKOFF_BASE_S = _env_float("WEBHOOK_BACKOFF_BASE_S", 5.0)
    WEBHOOK_BACKOFF_MAX_S = _env_float("WEBHOOK_BACKOFF_MAX_S", 3600.0)
    WEBHOOK_ALLOW_HTTP = _env_bool("WEBHOOK_ALLOW_HTTP")
    WEBHOOK_ALLOW_PRIVATE_NETWORKS = _env_bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS")
    WEBHOOK_CONCURRENCY = _env_int("WEBHOOK_CONCURRENCY", 64)
    WEBHOOK_LEASE_S = _env_float("WEBHOOK_LEASE_S", 60.0)
    WEBHOOK_POLL_INTERVAL_S = _env_float("WEBHOOK_POLL_INTERVAL_S", 1.0)
    WEBHOOK_RETENTION_DAYS = _env_int("WEBHOOK_RETENTION_DAYS", 7)

    API_TITLE = "Notifier"
    API_VERSION = "1.0"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    OPENAPI_SWAGGER_UI_URL = "/docs/assets/"
    API_SPEC_OPTIONS = {
        "security": [{"bearerAuth": []}],
        "info": {"description": API_DESCRIPTION},
    }


class DevelopmentConfig(BaseConfig):
    """Local development: debug on, a throwaway signing key when none is set."""

    DEBUG = True
    JWT_SECRET_KEY = (
        os.environ.get("JWT_SECRET_KEY") or "dev-only-secret-key-not-for-production-use"
    )


class ProductionConfig(BaseConfig):
    """Production: everything from the environment, secrets required."""


class TestConfig(BaseConfig):
    """Tests: cheap hashing, a test database, no delivery service unless mocked."""

    TESTING = True
    SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("TEST_DATABASE_URL")) or (
        f"sqlite:///{BASE_DIR / 'instance' / 'test.db'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS = _engine_options(SQLALCHEMY_DATABASE_URI)
    JWT_SECRET_KEY = "test-secret-key-that-is-at-least-32-bytes-long"  # noqa: S105 (tests only)
    PASSWORD_HASH_TIME_COST = 1
    PASSWORD_HASH_MEMORY_KIB = 64
    RATELIMIT_STORAGE_URI = "database://"
    # Port 9 (discard) on loopback: a delivery call that nobody mocked fails loudly.
    DELIVERY_SERVICE_URL = "http://127.0.0.1:9"
    DELIVERY_TIMEOUT_S = 2.0
    # The token of the delivery services the tests start (tests/helpers.py).
    DELIVERY_API_TOKEN = "test-delivery-token-of-at-least-32-characters"  # noqa: S105
    # Metrics on, as in production with a token: every test runs through the hooks.
    METRICS_TOKEN = "test-metrics-token"  # noqa: S105 (tests only)


class DeliveryConfig:
    """Settings of the delivery service (the simulator and the real providers)."""

    TESTING = False
    MAX_CONTENT_LENGTH = 262_144
    # Callers (the worker) must send it as a bearer token; unset: the service refuses to
    # start, unless DELIVERY_ALLOW_UNAUTHENTICATED (a local development stack only).
    DELIVERY_API_TOKEN = os.environ.get("DELIVERY_API_TOKEN", "")
    DELIVERY_ALLOW_UNAUTHENTICATED = _env_bool("DELIVERY_ALLOW_UNAUTHENTICATED")
    DELIVERY_SIMULATOR_HOOKS = _env_bool("DELIVERY_SIMULATOR_HOOKS", True)
    DELIVERY_FAILURE_RATE = _env_float("DELIVERY_FAILURE_RATE", 0.0)
    DELIVERY_LATENCY_MS = _env_int("DELIVERY_LATENCY_MS", 0)
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")

    # Idempotency memory: unset, per process; redis://… shares it between workers and hosts.
    DELIVERY_IDEMPOTENCY_URL = os.environ.get("DELIVERY_IDEMPOTENCY_URL", "")
    DELIVERY_IDEMPOTENCY_TTL_S = _env_int("DELIVERY_IDEMPOTENCY_TTL_S", 86_400)
    DELIVERY_IDEMPOTENCY_PREFIX = os.environ.get("DELIVERY_IDEMPOTENCY_PREFIX", "delivery:")

    # Providers (delivery/providers/): each channel uses the simulator unless set. The
    # values stay text here; the provider checks them at start and names a bad one.
    EMAIL_PROVIDER = os.environ.get("EMAIL_PROVIDER", "simulator")
    SMS_PROVIDER = os.environ.get("SMS_PROVIDER", "simulator")
    PUSH_PROVIDER = os.environ.get("PUSH_PROVIDER", "simulator")
    SMTP_HOST = os.environ.get("SMTP_HOST", "")
    SMTP_PORT = os.environ.get("SMTP_PORT", "")  # empty: 587, 465 or 25 by SMTP_SECURITY
    SMTP_SECURITY = os.environ.get("SMTP_SECURITY", "starttls")
    SMTP_USERNAME = os.environ.get("SMTP_USERNAME", "")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "")
    SMTP_TIMEOUT_S = os.environ.get("SMTP_TIMEOUT_S", "10")
    SMTP_CA_FILE = os.environ.get("SMTP_CA_FILE", "")
    SMTP_POOL_SIZE = os.environ.get("SMTP_POOL_SIZE", "10")
    EMAIL_FROM = os.environ.get("EMAIL_FROM", "")
    TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
    TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
    TWILIO_FROM = os.environ.get("TWILIO_FROM", "")
    TWILIO_API_BASE = os.environ.get("TWILIO_API_BASE", "https://api.twilio.com")
    TWILIO_TIMEOUT_S = os.environ.get("TWILIO_TIMEOUT_S", "10")
    FCM_PROJECT_ID = os.environ.get("FCM_PROJECT_ID", "")
    FCM_CREDENTIALS_FILE = os.environ.get("FCM_CREDENTIALS_FILE", "")
    FCM_API_BASE = os.environ.get("FCM_API_BASE", "https://fcm.googleapis.com")
    FCM_TOKEN_URI = os.environ.get("FCM_TOKEN_URI", "")  # empty: the file's token_uri
    FCM_TIMEOUT_S = os.environ.get("FCM_TIMEOUT_S", "10")
    # Where the API is reached from outside: set, every Twilio message asks for its
    # delivery receipts at {PUBLIC_BASE_URL}/receipts/twilio (StatusCallback).
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "")

    API_TITLE = "Notifier delivery service"
    API_VERSION = "1.0"
    OPENAPI_VERSION = "3.0.3"


def config_from_env() -> type[BaseConfig]:
    """The config class for a process started outside tests (wsgi, CLI)."""
    if _env_bool("FLASK_DEBUG"):
        return DevelopmentConfig
    return ProductionConfig
