"""Data access: the one engine's connections and the session's transaction.

One engine and one connection pool per process. Three ways through it, each
for one kind of work:

- `transaction()`: the ORM session, committed or rolled back as a unit;
- `autocommit()`: a connection of the same pool in autocommit mode, for work
  that is one statement (no BEGIN, no COMMIT or ROLLBACK: one round trip
  instead of three);
- `async_commit()`: `autocommit()` for the few writes a crash may lose,
  committed without waiting for the WAL flush on PostgreSQL.

The model base and its types live in `notifier.base`; they are re-exported
here because every model imports them with the data-access helpers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection

from notifier.base import Base, BigId, UTCDateTime, utcnow
from notifier.extensions import db

__all__ = [
    "Base",
    "BigId",
    "UTCDateTime",
    "async_commit",
    "autocommit",
    "transaction",
    "utcnow",
]


@contextmanager
def autocommit() -> Iterator[Connection]:
    """A connection of the engine's pool in autocommit mode, for `with`.

    Only for work that is one statement: a SELECT that sees committed data, or
    a single INSERT/UPDATE that is atomic on its own (its triggers run in the
    same statement). The connection goes back to the pool in transaction mode.

    It switches the driver's own autocommit attribute (psycopg2's `autocommit`,
    sqlite3's `isolation_level`), which sends nothing to the server. The
    SQLAlchemy spelling, `execution_options(isolation_level="AUTOCOMMIT")`,
    costs a round trip per use on psycopg2: restoring the level on the way back
    to the pool calls psycopg2's `set_isolation_level`, which sends
    `SET default_transaction_isolation` every time.
    """
    with db.engine.connect() as connection:
        driver = connection.connection.dbapi_connection
        _driver_autocommit(driver, True)
        try:
            yield connection
        finally:
            if not connection.invalidated:
                _driver_autocommit(driver, False)


def _driver_autocommit(driver: DBAPIConnection, on: bool) -> None:
    if isinstance(driver, sqlite3.Connection):
        driver.isolation_level = None if on else ""
    else:
        driver.autocommit = on


# The execution option that marks an async_commit() connection.
_ASYNC = "notifier_async_commit"
_ASYNC_PREFIX = "SET LOCAL synchronous_commit TO OFF; "


@contextmanager
def async_commit() -> Iterator[Connection]:
    """`autocommit()` for writes a crash may lose: they do not wait for the disk.

    The login's new session (lost, its tokens are refused and the user logs in
    again) and the rate-limit counters (lost, one more attempt gets through).
    Everything else keeps durable commits. One statement per use, as with
    `autocommit()`.

    On PostgreSQL each statement goes as `SET LOCAL synchronous_commit TO OFF;
    <statement>` in one message: the server runs the two as one implicit
    transaction, commits it without waiting for the WAL flush and forgets the
    setting. That is one round trip, where BEGIN, SET LOCAL, the statement and
    COMMIT would be four. SQLite has no such setting: there it is `autocommit()`.
    """
    with autocommit() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(**{_ASYNC: True})
        yield connection


@event.listens_for(Engine, "before_cursor_execute", retval=True)
def _prefix_async_commit(connection, cursor, statement, parameters, context, executemany):
    if context is not None and context.execution_options.get(_ASYNC):
        statement = _ASYNC_PREFIX + statement
    return statement, parameters


@contextmanager
def transaction() -> Iterator[None]:
    """Commit the session on success, roll it back on any error.

    Services wrap each unit of work in one of these, so a request never leaves a
    half-written row behind.
    """
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
