"""The delivery service: a stand-in for the email, SMS and push providers (port 8001).

Run it with ``gunicorn -c delivery/gunicorn.conf.py 'delivery:create_app()'``.
It is its own small Flask app with its own flask-smorest ``Api``, so its errors
have the same ``{"code", "status", "message"}`` shape as the Notification API's,
and it imports nothing from ``notifier`` except the pure :mod:`notifier.channels`.
"""

from __future__ import annotations

from flask import Flask, request, send_from_directory
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import RequestEntityTooLarge

from config import DeliveryConfig
from delivery.extensions import DeliveryApi
from delivery.idempotency import make_store
from delivery.providers import register_providers
from notifier.observability.hooks import register_observability

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
    register_extensions(app)
    register_providers(app)
    register_request_limits(app)
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
    from delivery.routes import STORE_EXTENSION, blp

    app.extensions[STORE_EXTENSION] = make_store(app.config)
    api = DeliveryApi(app)
    api.register_blueprint(blp)


def register_request_limits(app: Flask) -> None:
    """413 from the declared length, whatever the content type and whether or not it is read.

    Werkzeug only enforces ``MAX_CONTENT_LENGTH`` when the body is read, and a
    non-JSON body is never read, so check the header up front as well.
    """

    @app.before_request
    def _refuse_large_bodies() -> None:
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit and request.content_length and request.content_length > limit:
            raise RequestEntityTooLarge()


def register_docs_assets(app: Flask) -> None:
    """Serve Swagger UI's files from the ``swagger_ui_bundle`` package."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:  # docs assets are optional; the API works without them
        return

    prefix = str(app.config.get("OPENAPI_SWAGGER_UI_URL") or "").rstrip("/")
    if not prefix.startswith("/"):  # assets from elsewhere (a CDN): nothing to serve
        return

    @app.get(f"{prefix}/<path:filename>")
    def swagger_ui_assets(filename: str) -> ResponseReturnValue:
        """Swagger UI static files."""
        return send_from_directory(swagger_ui_path, filename)
