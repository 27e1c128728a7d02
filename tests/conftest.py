"""Shared fixtures: one app per session on a database built by migrations.

The database is PostgreSQL when `TEST_DATABASE_URL` is set, else a SQLite file.
Every test commits for real; an autouse fixture deletes all rows afterwards.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from config import TestConfig
from notifier import create_app
from notifier.extensions import db
from notifier.migrate import bind as bind_migrations
from tests.factories import PASSWORD, UserFactory
from tests.helpers import ApiClient

ON_POSTGRES = TestConfig.SQLALCHEMY_DATABASE_URI.startswith("postgresql")

postgres_only = pytest.mark.skipif(
    not ON_POSTGRES, reason="needs PostgreSQL (set TEST_DATABASE_URL); CI runs it"
)


def _fresh_database(app) -> None:
    """Drop everything, then build the schema with `flask db upgrade`."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        db.engine.dispose()
    upgrade()


@pytest.fixture(scope="session")
def app():
    app = create_app(TestConfig)
    bind_migrations(app)
    with app.app_context():
        _fresh_database(app)
        yield app
        db.session.remove()
        db.engine.dispose()


def delete_all_rows() -> None:
    """Delete every row (children first), rate-limit counters included."""
    # The session-scoped app context is active: end its session, then delete.
    db.session.remove()
    with db.engine.begin() as connection:
        # Counters last: deleting notifications updates them through triggers.
        tables = [t for t in reversed(db.metadata.sorted_tables) if t.name != "notification_counts"]
        for table in [*tables, db.metadata.tables["notification_counts"]]:
            connection.execute(table.delete())


@pytest.fixture(autouse=True)
def _clean_database(request):
    """Delete every row after each test."""
    yield
    if "app" not in request.fixturenames:
        return
    delete_all_rows()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def user(app):
    return UserFactory()


@pytest.fixture
def api(app, user) -> ApiClient:
    """A client logged in as `user`."""
    return ApiClient.login(app.test_client(), user.email, PASSWORD)


@pytest.fixture
def other_api(app) -> ApiClient:
    """A client logged in as a second user."""
    other = UserFactory()
    return ApiClient.login(app.test_client(), other.email, PASSWORD)


def pytest_report_header(config):
    where = os.environ.get("TEST_DATABASE_URL") or "instance/test.db"
    return f"database: {'PostgreSQL' if ON_POSTGRES else 'SQLite'} ({where})"
