"""The delivery service: a stand-in for the email, SMS and push providers (port 8001).

Run it with ``gunicorn -c delivery/gunicorn.conf.py 'delivery:create_app()'``.
It is its own small Flask app with its own flask-smorest ``Api``. It imports
nothing from ``notifier`` but the pure channel rules (:mod:`notifier.channels`)
and the web plumbing (:mod:`notifier.web`): its errors have the Notification
API's one shape, and its 413, 400 and text fields work the same way.

Only the dispatcher may call it: every route but ``/health`` needs
``DELIVERY_API_TOKEN`` (see :mod:`delivery.auth`), and it refuses to start without one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from config import DeliveryConfig
from delivery.auth import register_auth
from delivery.errors import DeliveryApi
from delivery.idempotency import DEFAULT_WAIT_S, IdempotencyStore
from delivery.providers import register_providers
from delivery.redis_store import RedisIdempotencyStore
from delivery.routes import STORE_EXTENSION, blp
from notifier.observability.hooks import register_observability
from notifier.web import register_body_limit, register_docs_assets

__all__ = ["create_app"]

# Settings that DeliveryConfig may leave out. The OpenAPI document and Swagger UI,
# with its assets served locally (no internet needed), as on the Notification API.
_DEFAULTS = {
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "/docs",
    "OPENAPI_SWAGGER_UI_URL": "/docs/assets/",
    "DELIVERY_IDEMPOTENCY_MAX_KEYS": 100_000,
}


def create_app(config_object: object | None = None) -> Flask:
    """Build the delivery app from ``config_object`` (default :class:`config.DeliveryConfig`)."""
    app = Flask(__name__)
    app.config.from_object(config_object or DeliveryConfig)
    for key, value in _DEFAULTS.items():
        app.config.setdefault(key, value)
    _check_config(app)
    register_observability(app, "delivery")
    register_body_limit(app)
    # After the body limit: the token check then runs first of all hooks.
    register_auth(app)
    register_extensions(app)
    register_providers(app)
    register_docs_assets(app)
    return app


def _check_config(app: Flask) -> None:
    """Refuse to start with simulator settings that make no sense."""
    rate = float(app.config.get("DELIVERY_FAILURE_RATE", 0.0))
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"DELIVERY_FAILURE_RATE must be between 0 and 1, got {rate}")
    latency = float(app.config.get("DELIVERY_LATENCY_MS", 0))
    if latency < 0:
        raise ValueError(f"DELIVERY_LATENCY_MS must not be negative, got {latency}")


def register_extensions(app: Flask) -> None:
    """One Api per app (an Api holds one OpenAPI spec), its blueprint, and the key store."""
    app.extensions[STORE_EXTENSION] = make_store(app.config)
    api = DeliveryApi(app)
    api.register_blueprint(blp)


def make_store(config: Mapping[str, Any]) -> IdempotencyStore | RedisIdempotencyStore:
    """The app's store: shared in Redis when ``DELIVERY_IDEMPOTENCY_URL`` is set, else in memory."""
    url = str(config.get("DELIVERY_IDEMPOTENCY_URL") or "").strip()
    wait_s = float(config.get("DELIVERY_IDEMPOTENCY_WAIT_S") or DEFAULT_WAIT_S)
    if url:
        return RedisIdempotencyStore(
            url,
            ttl_s=int(config.get("DELIVERY_IDEMPOTENCY_TTL_S") or 86_400),
            prefix=str(config.get("DELIVERY_IDEMPOTENCY_PREFIX") or "delivery:"),
            wait_s=wait_s,
        )
    return IdempotencyStore(int(config["DELIVERY_IDEMPOTENCY_MAX_KEYS"]), wait_s=wait_s)
