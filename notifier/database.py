"""Data access: the one engine's connections and the session's transaction.

One engine and one connection pool per process. Three ways through it, each
for one kind of work:

- `transaction()`: the ORM session, committed or rolled back as a unit;
- `autocommit()`: a connection of the same pool in autocommit mode, for work
  that is one statement (no BEGIN, no COMMIT or ROLLBACK: a third of the round
  trips of a statement in a transaction);
- `async_commit()`: for the few writes a crash may lose, committed without
  waiting for the WAL flush on PostgreSQL.

The model base and its types live in `notifier.base`; they are re-exported
here because every model imports them with the data-access helpers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

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


def autocommit() -> Connection:
    """A connection of the engine in autocommit mode; use it in `with`.

    Only for work that is one statement: a SELECT that sees committed data, or
    a single INSERT/UPDATE that is atomic on its own (its triggers run in the
    same statement). It comes from the one pool; SQLAlchemy restores the
    engine's isolation level when the connection goes back to it.
    """
    return db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")


@contextmanager
def async_commit() -> Iterator[Connection]:
    """A connection whose writes commit without waiting for the disk, on exit.

    For writes a database crash may lose harmlessly: the login's new session
    (lost, its tokens are refused and the user logs in again) and the rate-limit
    counters (lost, one more attempt gets through). Everything else keeps
    durable commits. On PostgreSQL this is a transaction with
    `SET LOCAL synchronous_commit TO OFF`, which the server forgets at its end;
    SQLite has no such setting, so there it is a plain autocommit connection.
    """
    with db.engine.connect() as connection:
        if connection.dialect.name != "postgresql":
            yield connection.execution_options(isolation_level="AUTOCOMMIT")
            return
        with connection.begin():
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
