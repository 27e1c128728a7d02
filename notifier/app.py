"""The application factory, built from small `register_*` steps."""

from __future__ import annotations

import io
import sqlite3
import sys
from pathlib import Path

import click
import swagger_ui_bundle
from flask import Flask, request, send_from_directory
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import BaseConverter, ValidationError

from notifier.observability.hooks import register_observability

MIN_SECRET_BYTES = 32
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
    if config_object is None:
        from config import config_from_env

        config_object = config_from_env()
    app = Flask(__name__, instance_path=str(Path(__file__).resolve().parent.parent / "instance"))
    app.config.from_object(config_object)
    check_secret(app)
    register_observability(app, "api")
    app.url_map.strict_slashes = False
    app.url_map.converters["id"] = IdConverter
    register_body_limit(app)
    register_extensions(app)
    register_blueprints(app)
    register_docs(app)
    register_commands(app)
    return app


def check_secret(app: Flask) -> None:
    """Outside debug and testing, refuse to start without a strong signing key."""
    if app.debug or app.testing:
        return
    secret = app.config.get("JWT_SECRET_KEY") or ""
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise RuntimeError(
            f"JWT_SECRET_KEY must be set to at least {MIN_SECRET_BYTES} bytes "
            '(generate one: python -c "import secrets; print(secrets.token_urlsafe(48))")'
        )


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """SQLite enforces foreign keys (cascading deletes) only when asked, per
    connection; WAL lets the API read while the dispatcher writes."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def register_body_limit(app: Flask) -> None:
    """413 for every body over MAX_CONTENT_LENGTH, whatever its type or framing.

    Werkzeug enforces the limit only when the body is read: a large body that is
    not JSON was never read (it became a 422), and a chunked body (no length) is
    cut at the limit silently and then reads as malformed JSON. Checking up
    front, before any other hook touches the stream, makes the answer honest.
    """

    def limit_body_size() -> None:
        environ = request.environ
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit is None:
            return
        if request.content_length is not None:
            if request.content_length > limit:
                raise RequestEntityTooLarge()
            return
        if "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            return
        body = environ["wsgi.input"].read(limit + 1)
        if len(body) > limit:
            raise RequestEntityTooLarge()
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ.pop("wsgi.input_terminated", None)

    # First of all hooks: none may read the stream before the limit is checked.
    app.before_request_funcs.setdefault(None, []).insert(0, limit_body_size)


def register_extensions(app: Flask) -> None:
    # Every model module, so that Alembic autogenerate sees every table.
    from notifier import ratelimit
    from notifier.auth import models as _auth_models  # noqa: F401
    from notifier.errors import register_database_errors, register_jwt_callbacks
    from notifier.extensions import api, db, jwt
    from notifier.notifications import models as _notification_models  # noqa: F401
    from notifier.users import models as _user_models  # noqa: F401
    from notifier.webhooks import models as _webhook_models  # noqa: F401

    db.init_app(app)
    register_migrations(app)
    jwt.init_app(app)
    register_jwt_callbacks(jwt)
    ratelimit.init_app(app)
    api.init_app(app)
    register_database_errors(app, api)
    api.register_converter(IdConverter, lambda converter: {"type": "integer", "minimum": 1})
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )


def register_migrations(app: Flask) -> None:
    """Bind Flask-Migrate, for the `flask db` commands, unless this is a web worker.

    Flask-Migrate brings Alembic, Mako and Pygments: about 9 MB in every gunicorn
    worker, which never runs a migration. So it is bound when the app is built
    by the `flask` CLI (inside a click context) or when the caller has imported
    it already (the tests, a script calling `flask_migrate.upgrade`).
    """
    if click.get_current_context(silent=True) is None and "flask_migrate" not in sys.modules:
        return
    from flask_migrate import Migrate

    from notifier.extensions import db

    directory = Path(__file__).resolve().parent.parent / "migrations"
    Migrate(app, db, render_as_batch=True, directory=str(directory))


def register_blueprints(app: Flask) -> None:
    from notifier import auth, health, notifications, users, webhooks
    from notifier.extensions import api

    for blueprint in (health.blp, users.blp, auth.blp, notifications.blp):
        api.register_blueprint(blueprint)
    api.register_blueprint(webhooks.blp)


def register_docs(app: Flask) -> None:
    """Serve Swagger UI's assets from the installed bundle: /docs works offline."""
    assets = Path(swagger_ui_bundle.swagger_ui_path)

    @app.route("/docs/assets/<path:filename>")
    def swagger_ui_assets(filename: str):
        return send_from_directory(assets, filename, max_age=86_400)


def register_commands(app: Flask) -> None:
    from notifier.cli import register_commands as register

    register(app)
