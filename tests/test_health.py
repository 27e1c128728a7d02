"""GET /health (no I/O) and GET /ready (database ping)."""

from sqlalchemy.exc import OperationalError

from notifier.extensions import db


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


def test_database_down_during_a_request_is_503_with_retry_after(api, monkeypatch):
    """Any route, not only /ready: a lost database is 'try again', never a 500."""

    def down(*args, **kwargs):
        raise OperationalError("SELECT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(db.session, "execute", down)
    response = api.get("/notifications", expect=None)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.get_json()["message"] == "The database is unavailable; try again shortly."
