"""Data access: the one engine's connections and the session's transaction.

One engine and one connection pool per process. Three ways through it, each
for one kind of work:

- `transaction()`: the ORM session, committed or rolled back as a unit;
- `autocommit()`: a connection of the same pool in autocommit mode, for work
  that is one statement (no BEGIN, no COMMIT or ROLLBACK: one round trip
  instead of three);
- `async_commit()`: for the few writes a crash may lose, committed without
  waiting for the WAL flush on PostgreSQL.

The model base and its types live in `notifier.base`; they are re-exported
here because every model imports them with the data-access helpers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection
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


@contextmanager
def async_commit() -> Iterator[Connection]:
    """A connection whose writes commit without waiting for the disk, on exit.

    For writes a database crash may lose harmlessly: the login's new session
    (lost, its tokens are refused and the user logs in again) and the rate-limit
    counters (lost, one more attempt gets through). Everything else keeps
    durable commits. On PostgreSQL this is a transaction with
    `SET LOCAL synchronous_commit TO OFF`, which the server forgets at its end;
    SQLite has no such setting, so there it is `autocommit()`.
    """
    if db.engine.dialect.name != "postgresql":
        with autocommit() as connection:
            yield connection
        return
    with db.engine.connect() as connection, connection.begin():
        connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
        yield connection


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
