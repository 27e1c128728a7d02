"""What every app of this package starts from: its config, the key check, SQLite's pragmas.

`notifier.app.create_app` (the API) and `notifier.worker.app.create_worker_app`
(the dispatcher) both begin with `new_app`, so the two read the same settings and
refuse to start for the same reasons. This module imports no feature.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from config import config_from_env

MIN_SECRET_BYTES = 32
INSTANCE_PATH = Path(__file__).resolve().parent.parent / "instance"


def new_app(import_name: str, config_object=None) -> Flask:
    """A Flask app with `config_object` (default: the environment's), its key checked."""
    if config_object is None:
        config_object = config_from_env()
    app = Flask(import_name, instance_path=str(INSTANCE_PATH))
    app.config.from_object(config_object)
    check_secret(app)
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
    own = app.config.get("SECRET_KEY") or ""
    if own and len(own.encode()) < MIN_SECRET_BYTES:
        raise RuntimeError(
            f"SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes, or unset "
            "(then it is derived from JWT_SECRET_KEY)"
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
