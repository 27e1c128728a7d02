"""The application factory, built from small `register_*` steps."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import BaseConverter, ValidationError

from notifier import console, health, ratelimit
from notifier.api_keys import routes as api_keys
from notifier.auth import models as _auth_models  # noqa: F401
from notifier.auth import routes as auth
from notifier.batches import models as _batch_models  # noqa: F401
from notifier.batches import routes as batches
from notifier.cli import register_commands
from notifier.core import new_app
from notifier.errors import register_database_errors, register_jwt_callbacks
from notifier.extensions import db, jwt
from notifier.migrate import register_migrations
from notifier.notifications import models as _notification_models  # noqa: F401
from notifier.notifications import routes as notifications
from notifier.observability.hooks import register_observability
from notifier.openapi import Api
from notifier.receipts import routes as receipts
from notifier.suppressions import models as _suppression_models  # noqa: F401
from notifier.suppressions import routes as suppressions
from notifier.suppressions import unsubscribe
from notifier.templates import models as _template_models  # noqa: F401
from notifier.templates import routes as templates
from notifier.users import models as _user_models  # noqa: F401
from notifier.users import routes as users
from notifier.web import ErrorShapeApi, register_body_limit, register_docs_assets
from notifier.webhooks import models as _webhook_models  # noqa: F401
from notifier.webhooks import routes as webhooks

MAX_ID = 2**63 - 1


class IdConverter(BaseConverter):
    """A positive id that fits a BIGINT; anything else does not match (404)."""

    regex = r"[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= MAX_ID:
            raise ValidationError()
        return number

    def to_url(self, value) -> str:
        return str(int(value))


def create_app(config_object=None) -> Flask:
    """Build the Notification API. `config_object` defaults to the environment's."""
    app = new_app(__name__, config_object)
    register_proxies(app)
    register_observability(app, "api")
    app.url_map.strict_slashes = False
    app.url_map.converters["id"] = IdConverter
    register_body_limit(app)
    api = register_extensions(app)
    register_blueprints(api)
    register_docs_assets(app)
    console.init_app(app)
    register_migrations(app)
    register_commands(app)
    return app


def register_proxies(app: Flask) -> None:
    """Trust `X-Forwarded-For` from `TRUSTED_PROXY_COUNT` proxies in front of the API.

    With 0 (the default) the client address (`request.remote_addr`, which the
    login limits count) is the socket's peer, and a forged header changes
    nothing. With n, werkzeug's ProxyFix takes the n-th address from the right of
    the header, the one the outermost trusted proxy saw; only that header is
    trusted (not the forwarded host, scheme or port).
    """
    count = app.config["TRUSTED_PROXY_COUNT"]
    if not isinstance(count, int) or count < 0:
        raise RuntimeError(f"TRUSTED_PROXY_COUNT must be 0 or more (got {count!r})")
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=0, x_host=0, x_port=0)


def register_extensions(app: Flask) -> ErrorShapeApi:
    """Bind the extensions; the models imported above are all of `db.metadata`
    (Alembic's autogenerate compares it with the database)."""
    db.init_app(app)
    jwt.init_app(app)
    ratelimit.init_app(app)
    # Its document says every rule the schemas check (notifier.openapi).
    api = Api(app)
    register_jwt_callbacks(jwt, api)
    register_database_errors(app, api)
    api.register_converter(
        IdConverter,
        lambda converter: {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID},
    )
    api.spec.components.security_scheme(
        "bearerAuth",
        {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT or API key",
            "description": "An access token from POST /auth/login, or an API key "
            "(ntf_live_... or ntf_test_...) from POST /api-keys: /notifications routes, and "
            "reading templates with the templates:read scope.",
        },
    )
    return api


def register_blueprints(api: ErrorShapeApi) -> None:
    blueprints = (
        health,
        users,
        auth,
        notifications,
        templates,
        batches,
        api_keys,
        webhooks,
        receipts,
        suppressions,
        unsubscribe,
    )
    for blueprint in (module.blp for module in blueprints):
        api.register_blueprint(blueprint)
