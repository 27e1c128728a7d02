"""Rate-limit storages: database:// (the table), and memory:// and redis:// through the
same path, the one that RATELIMIT_STORAGE_URI names."""

import contextlib
import shutil
import subprocess
import time

import pytest

from config import TestConfig
from notifier import create_app
from notifier.extensions import db
from notifier.ratelimit import DatabaseStorage, RateLimitCounter
from tests.conftest import postgres_only
from tests.factories import PASSWORD
from tests.live_server import free_port, stop


def test_hits_count_up_within_a_window_and_start_again_after_it(app):
    storage = DatabaseStorage()
    assert storage.check()
    assert [storage.incr("k", expiry=60) for _ in range(3)] == [1, 2, 3]
    assert storage.get("k") == 3
    assert storage.get_expiry("k") > time.time() + 50
    assert storage.incr("other", expiry=60) == 1

    db.session.execute(db.text("UPDATE rate_limit_counters SET expires_at = 0 WHERE key = 'k'"))
    db.session.commit()
    assert storage.get("k") == 0
    assert storage.incr("k", expiry=60) == 1


def test_clear_reset_and_purge(app):
    storage = DatabaseStorage()
    storage.incr("a", expiry=60)
    storage.incr("b", expiry=60)
    storage.clear("a")
    assert storage.get("a") == 0
    db.session.execute(db.text("UPDATE rate_limit_counters SET expires_at = 0"))
    db.session.commit()
    assert storage.purge_expired() == 1
    storage.incr("c", expiry=60)
    assert storage.reset() == 1


def test_the_dispatcher_purges_passed_windows_and_keeps_live_ones(app):
    storage = DatabaseStorage()
    storage.incr("passed", expiry=60)
    storage.incr("live", expiry=60)
    db.session.execute(
        db.text("UPDATE rate_limit_counters SET expires_at = 0 WHERE key = 'passed'")
    )
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["worker", "--once"])

    assert result.exit_code == 0, result.output
    db.session.remove()
    assert list(db.session.scalars(db.select(RateLimitCounter.key))) == ["live"]


@postgres_only
def test_login_writes_skip_the_wal_flush_and_everything_else_keeps_it(app):
    """A lost login counter or session is harmless; a lost notification or logout is not."""
    from sqlalchemy import text

    from notifier.database import async_commit, autocommit

    def setting(connection):
        return connection.execute(text("SHOW synchronous_commit")).scalar()

    with async_commit() as connection:
        assert setting(connection) == "off"
    with autocommit() as connection:
        assert setting(connection) == "on"
    with db.engine.connect() as connection:
        assert setting(connection) == "on"


@contextlib.contextmanager
def _client_with_storage(uri: str):
    """A second app on the test database whose counters live in `uri`."""

    class Config(TestConfig):
        RATELIMIT_STORAGE_URI = uri

    other = create_app(Config)
    with other.app_context():
        try:
            yield other.test_client()
        finally:
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


def _limit_holds(client) -> None:
    """Register, fail ten logins, then even the right password is a 429 with Retry-After."""
    body = {"name": "Rita", "email": "rita@example.com", "password": PASSWORD}
    assert client.post("/users", json=body).status_code == 201
    wrong = {"email": "rita@example.com", "password": "wrong password"}
    for _ in range(10):
        assert client.post("/auth/login", json=wrong).status_code == 401
    limited = client.post("/auth/login", json={**wrong, "password": PASSWORD})
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.get_json()["code"] == 429


def _table_rows() -> int:
    with db.engine.connect() as connection:
        return connection.execute(db.select(db.func.count()).select_from(RateLimitCounter)).scalar()


def test_memory_storage_limits_logins_and_writes_no_table_row(app):
    with _client_with_storage("memory://") as client:
        _limit_holds(client)
        assert _table_rows() == 0


@pytest.fixture
def redis_url():
    """A throwaway redis-server on a free loopback port, stopped by its PID."""
    server_binary = shutil.which("redis-server")
    if server_binary is None:
        pytest.skip("needs redis-server on the PATH")
    port = free_port()
    server = subprocess.Popen(
        [
            server_binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import redis

        connection = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                connection.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    pytest.fail("redis-server did not answer")
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(server)


def test_redis_storage_limits_logins_and_writes_no_table_row(app, redis_url):
    with _client_with_storage(redis_url) as client:
        _limit_holds(client)
        assert _table_rows() == 0


def test_a_storage_out_of_reach_is_503_with_retry_after_not_a_500(app):
    with _client_with_storage(f"redis://127.0.0.1:{free_port()}/0") as client:
        response = client.post("/auth/login", json={"email": "a@example.com", "password": "x"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.get_json()["code"] == 503
