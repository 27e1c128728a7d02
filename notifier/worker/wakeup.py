"""Waking idle dispatchers: `NOTIFY` on PostgreSQL, polling everywhere.

A trigger on `notifications` (migration 0004) sends `NOTIFY notifier_due` when a
write leaves a row pending and due; PostgreSQL delivers it to every listening
dispatcher when (and only if) the transaction commits. The
dispatcher's `Waiter` listens on a dedicated connection and `select()`s on it
with the poll interval as the timeout, so polling remains the fallback when
notifications are missed (a dropped connection) or unavailable (SQLite).
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import time
from typing import Any

from sqlalchemy.engine import Engine

CHANNEL = "notifier_due"

log = logging.getLogger(__name__)


class Waiter:
    """Sleeps until work may be due: a `NOTIFY`, a local `wake()`, or the timeout.

    On PostgreSQL a dedicated psycopg2 connection in autocommit mode runs `LISTEN`
    (autocommit because notifications are only delivered between transactions:
    an idle-in-transaction listener would never hear anything). A socket pair
    lets other threads and signal handlers interrupt the `select()` at once.
    """

    RECONNECT_BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)

    def __init__(self, engine: Engine | None = None) -> None:
        self._engine = engine
        self._listen = engine is not None and engine.dialect.name == "postgresql"
        self._conn: Any = None  # psycopg2 connection, when listening
        self._failures = 0
        self._retry_at = 0.0
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)

    @property
    def listening(self) -> bool:
        return self._conn is not None

    def start(self) -> None:
        """Connect and `LISTEN` (PostgreSQL only; failures fall back to polling)."""
        if self._listen:
            self._connect()

    def close(self) -> None:
        self._disconnect()
        self._wake_r.close()
        self._wake_w.close()

    def wake(self) -> None:
        """Interrupt a `wait()` from another thread or a signal handler."""
        # OSError: the buffer is full (a wake-up is already pending), or it is closed.
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def drain(self) -> bool:
        """Consume pending wake-ups without blocking; True if there were any.

        Call before claiming: anything that arrives after this point wakes the
        next `wait()`, so no wake-up falls between a claim and the sleep after it.
        """
        return self._consume()

    def wait(self, timeout: float) -> bool:
        """Block up to `timeout` seconds; True if woken by a notification or `wake()`."""
        if self._listen and self._conn is None and time.monotonic() >= self._retry_at:
            self._connect()
        sockets: list[Any] = [self._wake_r]
        if self._conn is not None:
            sockets.append(self._conn)
        try:
            ready, _, _ = select.select(sockets, [], [], max(0.0, timeout))
        except (OSError, ValueError) as error:  # the connection's socket went away
            log.warning("wake-up listener failed (%s); polling until it reconnects", error)
            self._drop()
            return False
        if not ready:
            return False
        return self._consume()

    # --- internals -------------------------------------------------------------

    def _consume(self) -> bool:
        woken = False
        with contextlib.suppress(OSError):  # BlockingIOError: nothing (more) to read
            while self._wake_r.recv(4096):
                woken = True
        if self._conn is not None:
            try:
                self._conn.poll()
            except Exception as error:  # psycopg2.Error, or a closed socket
                log.warning("wake-up listener lost (%s); polling until it reconnects", error)
                self._drop()
                return woken
            if self._conn.notifies:
                woken = True
                self._conn.notifies.clear()
        return woken

    def _connect(self) -> None:
        import psycopg2  # only on PostgreSQL; SQLite deployments need not have it

        assert self._engine is not None
        url = self._engine.url.set(drivername="postgresql")
        try:
            conn = psycopg2.connect(
                url.render_as_string(hide_password=False),
                application_name="notifier-dispatcher-listen",
            )
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(f"LISTEN {CHANNEL}")
        except Exception as error:
            delay = self.RECONNECT_BACKOFF_S[min(self._failures, len(self.RECONNECT_BACKOFF_S) - 1)]
            self._failures += 1
            self._retry_at = time.monotonic() + delay
            log.warning("cannot LISTEN on %s (%s); polling, retry in %g s", CHANNEL, error, delay)
            return
        if self._failures:
            log.info("listening on %s again", CHANNEL)
        self._failures = 0
        self._conn = conn

    def _drop(self) -> None:
        self._disconnect()
        self._retry_at = time.monotonic() + self.RECONNECT_BACKOFF_S[0]

    def _disconnect(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # already broken: nothing to add
                self._conn.close()
            self._conn = None
