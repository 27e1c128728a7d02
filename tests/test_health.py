"""GET /health (no I/O) and GET /ready (the database answers, its schema is at head)."""

import pytest
from sqlalchemy import create_engine, text

from notifier.extensions import db
from notifier.migrate import HEAD_REVISION
from tests.conftest import ON_POSTGRES

CREATE_BODY = {"title": "Hi", "content": "Hello", "channel": "email", "target": "a@example.com"}


def _assert_unavailable(response, message: str) -> None:
    assert response.status_code == 503
    assert response.get_json() == {
        "code": 503,
        "status": "Service Unavailable",
        "message": message,
    }


def test_health_is_ok(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_the_root_answers_links_that_all_work_without_a_token(client):
    response = client.get("/")
    assert response.status_code == 200
    links = response.get_json()
    assert links == {
        "name": "notifier",
        "docs": "/docs",
        "openapi": "/openapi.json",
        "health": "/health",
        "ready": "/ready",
    }
    for path in (value for key, value in links.items() if key != "name"):
        assert client.get(path).status_code == 200, path


def test_ready_is_ok_when_the_database_answers_at_the_head_revision(client):
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_ready_is_503_in_the_error_shape_when_the_database_is_down(client, database_down):
    _assert_unavailable(client.get("/ready"), "The database is unreachable.")


@pytest.fixture
def empty_database(app, tmp_path):
    """The engine points at a database that answers but was never migrated."""
    if ON_POSTGRES:
        with db.engine.begin() as connection:
            connection.execute(text("CREATE SCHEMA IF NOT EXISTS never_migrated"))
        engine = create_engine(
            app.config["SQLALCHEMY_DATABASE_URI"],
            connect_args={"options": "-c search_path=never_migrated"},
        )
    else:
        engine = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    db.session.remove()
    migrated, db.engines[None] = db.engines[None], engine
    yield
    db.session.remove()
    db.engines[None] = migrated
    engine.dispose()
    if ON_POSTGRES:
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA never_migrated CASCADE"))


def test_ready_is_503_on_a_database_that_was_never_migrated(client, empty_database):
    """The defect: 200 on an empty database while every route answered 503."""
    _assert_unavailable(
        client.get("/ready"),
        f"The database schema is at revision none, not {HEAD_REVISION}: "
        "run the migrations (flask db upgrade).",
    )


def test_ready_is_503_on_a_database_behind_the_head(client):
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        response = client.get("/ready")
    finally:
        with db.engine.begin() as connection:
            connection.execute(
                text("UPDATE alembic_version SET version_num = :head"), {"head": HEAD_REVISION}
            )
    _assert_unavailable(
        response,
        f"The database schema is at revision 0001, not {HEAD_REVISION}: "
        "run the migrations (flask db upgrade).",
    )


def test_ready_stays_ok_when_a_newer_release_migrated_ahead(client):
    """A rolling upgrade: the new release's migration Job ran; old pods stay ready."""
    newer = f"{int(HEAD_REVISION) + 1:04d}"
    _set_schema_revision(newer)
    try:
        response = client.get("/ready")
    finally:
        _set_schema_revision(HEAD_REVISION)
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


@pytest.mark.parametrize("revision", ["abc123", "1", "0011a", ""])
def test_ready_is_503_at_a_revision_that_is_not_one_of_ours(client, revision):
    _set_schema_revision(revision)
    try:
        response = client.get("/ready")
    finally:
        _set_schema_revision(HEAD_REVISION)
    _assert_unavailable(
        response,
        f"The database schema is at revision {revision or 'none'}, not {HEAD_REVISION}: "
        "run the migrations (flask db upgrade).",
    )


@pytest.fixture
def database_down(app, monkeypatch):
    """The engine points at a database that cannot be reached (nothing listens)."""
    url = (
        "postgresql+psycopg2://postgres@127.0.0.1:9/down"
        if ON_POSTGRES
        else "sqlite:////nonexistent-directory/down.db"
    )
    db.session.remove()
    monkeypatch.setitem(db.engines, None, create_engine(url))
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


def _set_schema_revision(revision: str) -> None:
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


def test_wait_for_schema_returns_at_once_when_the_schema_is_at_head(app):
    result = app.test_cli_runner().invoke(args=["wait-for-schema", "--timeout", "0"])
    assert result.exit_code == 0, result.output
    assert "at this version's head" in result.output


def test_wait_for_schema_gives_up_on_a_database_never_migrated_and_says_why(app, empty_database):
    result = app.test_cli_runner().invoke(args=["wait-for-schema", "--timeout", "0"])
    assert result.exit_code == 1
    assert f"revision none, not {HEAD_REVISION}" in result.output


def test_wait_for_schema_gives_up_when_the_database_is_unreachable(app, database_down):
    result = app.test_cli_runner().invoke(args=["wait-for-schema", "--timeout", "0"])
    assert result.exit_code == 1
    assert "The database is unreachable." in result.output


def test_wait_for_schema_waits_until_the_migration_job_has_run(app, monkeypatch):
    """An init container started before the Job finished: it waits, then lets the pod start."""
    migrations_run = []

    def the_job_runs_meanwhile(seconds: float) -> None:
        migrations_run.append(seconds)
        _set_schema_revision(HEAD_REVISION)

    _set_schema_revision("0001")
    monkeypatch.setattr("notifier.cli.time.sleep", the_job_runs_meanwhile)
    try:
        result = app.test_cli_runner().invoke(
            args=["wait-for-schema", "--interval", "0.5", "--timeout", "600"]
        )
    finally:
        _set_schema_revision(HEAD_REVISION)
    assert result.exit_code == 0, result.output
    assert migrations_run == [0.5]
    assert "waiting: The database schema is at revision 0001" in result.output
    assert "at this version's head" in result.output
