"""GET /health (no I/O) and GET /ready (database ping)."""

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from notifier.extensions import db
from tests.conftest import ON_POSTGRES

CREATE_BODY = {"title": "Hi", "content": "Hello", "channel": "email", "target": "a@example.com"}


def test_health_is_ok(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_ready_is_ok_when_the_database_answers(client):
    assert client.get("/ready").get_json() == {"status": "ok"}


def test_ready_is_503_in_the_error_shape_when_the_database_is_down(client, monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(db.session, "execute", down)
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.get_json() == {
        "code": 503,
        "status": "Service Unavailable",
        "message": "The database is unreachable.",
    }


@pytest.fixture
def database_down(app, monkeypatch):
    """Both engines point at a database that cannot be reached (nothing listens)."""
    url = (
        "postgresql+psycopg2://postgres@127.0.0.1:9/down"
        if ON_POSTGRES
        else "sqlite:////nonexistent-directory/down.db"
    )
    engines = {
        None: create_engine(url),
        "autocommit": create_engine(url, isolation_level="AUTOCOMMIT"),
    }
    db.session.remove()
    for key, engine in engines.items():
        monkeypatch.setitem(db.engines, key, engine)
    yield
    db.session.remove()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/notifications", None),
        ("GET", "/notifications/1", None),
        ("POST", "/notifications", CREATE_BODY),
        ("PATCH", "/notifications/1", {"title": "New"}),
        ("GET", "/users/me", None),
    ],
)
def test_database_down_during_a_request_is_503_with_retry_after(
    api, database_down, method, path, body
):
    """Any route, not only /ready: a lost database is 'try again', never a 500."""
    response = api.request(method, path, json=body)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.get_json()["message"] == "The database is unavailable; try again shortly."
