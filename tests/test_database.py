"""notifier.database: one engine and one pool, used three ways."""

from contextlib import ExitStack

from sqlalchemy import func, select, text

from notifier.database import async_commit, autocommit
from notifier.extensions import db
from notifier.ratelimit import RateLimitCounter
from tests.conftest import postgres_only

COUNTERS = RateLimitCounter.__table__


def _count(connection) -> int:
    return connection.execute(select(func.count()).select_from(COUNTERS)).scalar_one()


def _insert(connection, key: str) -> None:
    connection.execute(COUNTERS.insert().values(key=key, hits=1, expires_at=0))


def test_one_engine_serves_every_kind_of_work(app):
    assert list(db.engines) == [None]
    with autocommit() as connection:
        assert connection.engine is db.engine
    with async_commit() as connection:
        assert connection.engine is db.engine


def test_an_autocommit_write_is_kept_without_a_commit(app):
    with autocommit() as connection:
        _insert(connection, "kept")
    with db.engine.connect() as connection:
        assert _count(connection) == 1


def test_an_async_commit_write_is_kept_statement_by_statement(app):
    """Like autocommit(): each statement is committed on its own, even if the block fails."""
    try:
        with async_commit() as connection:
            _insert(connection, "first")
            assert connection.execute(select(COUNTERS.c.hits)).scalar_one() == 1
            raise RuntimeError("the request failed after the write")
    except RuntimeError:
        pass
    with autocommit() as connection:
        assert connection.execute(select(COUNTERS.c.key)).scalars().all() == ["first"]


def test_connections_go_back_to_the_pool_in_transaction_mode(app):
    """After autocommit() and async_commit(), a rollback undoes a write again."""
    with autocommit() as connection:
        connection.execute(text("SELECT 1"))
    with async_commit() as connection:
        connection.execute(text("SELECT 1"))
    pooled = [db.engine.connect() for _ in range(max(2, db.engine.pool.checkedin()))]
    try:
        for number, connection in enumerate(pooled):
            _insert(connection, f"undone-{number}")
            connection.rollback()
            assert _count(connection) == 0
    finally:
        for connection in pooled:
            connection.close()


@postgres_only
def test_no_connection_keeps_asynchronous_commits_after_async_commit(app):
    with async_commit() as connection:
        assert connection.execute(text("SHOW synchronous_commit")).scalar() == "off"
    with ExitStack() as stack:
        pooled = [
            stack.enter_context(autocommit()) for _ in range(max(2, db.engine.pool.checkedin()))
        ]
        settings = {c.execute(text("SHOW synchronous_commit")).scalar() for c in pooled}
    assert settings == {"on"}


@postgres_only
def test_autocommit_never_touches_the_isolation_level(app):
    """psycopg2 sends `SET default_transaction_isolation` whenever its isolation level is
    set on a connection in autocommit mode, as SQLAlchemy does when it restores the level
    after `execution_options(isolation_level="AUTOCOMMIT")`: a round trip more per use."""
    for _ in range(3):
        with autocommit() as connection:
            connection.execute(text("SELECT 1"))
    with ExitStack() as stack:
        pooled = [
            stack.enter_context(db.engine.connect())
            for _ in range(max(2, db.engine.pool.checkedin()))
        ]
        levels = {connection.connection.dbapi_connection.isolation_level for connection in pooled}
    assert levels == {None}  # psycopg2: never set, the server's default
