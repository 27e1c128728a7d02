"""A small pool of open SMTP connections, safe for threads and for gevent's greenlets.

Opening an SMTP session costs several round trips (greeting, EHLO, STARTTLS and its
handshake, EHLO again, AUTH) before the three of the message itself, so
connections are kept open and reused. At most ``size`` are open at once (a
semaphore, waited on for at most ``wait_s``); an idle one is handed out newest
first, and one idle longer than ``max_idle_s`` is closed instead of reused,
since servers drop idle sessions. A connection that fails is never put back.

Under gunicorn's gevent worker the ``threading`` primitives are gevent's (the worker
patches them before the app, and so this pool, is created), so a greenlet that
waits for a slot lets the others run.
"""

from __future__ import annotations

import contextlib
import smtplib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

DEFAULT_MAX_IDLE_S = 60.0


class PoolExhausted(Exception):
    """Every connection stayed busy for longer than the wait allowed."""


@dataclass
class Lease:
    """A connection lent for one message; ``reused`` when it served a message before."""

    connection: smtplib.SMTP
    reused: bool
    keep: bool = True  # set to False when the session is no longer usable


def close_quietly(connection: smtplib.SMTP) -> None:
    """Close the socket without a QUIT (the session may be dead: no round trip on it)."""
    with contextlib.suppress(Exception):
        connection.close()


class SmtpPool:
    """At most ``size`` SMTP connections made by ``connect``, reused between messages."""

    def __init__(
        self,
        connect: Callable[[], smtplib.SMTP],
        *,
        size: int,
        wait_s: float,
        max_idle_s: float = DEFAULT_MAX_IDLE_S,
    ) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self._connect = connect
        self.size = size
        self.wait_s = wait_s
        self.max_idle_s = max_idle_s
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._idle: list[tuple[smtplib.SMTP, float]] = []  # (connection, idle since)

    @contextlib.contextmanager
    def lease(self, *, fresh: bool = False) -> Iterator[Lease]:
        """Lend a connection (a new one when ``fresh``); put it back unless it failed."""
        if not self._slots.acquire(timeout=self.wait_s):
            raise PoolExhausted(f"all {self.size} connections stayed busy for {self.wait_s:g} s")
        try:
            connection = None if fresh else self._take_idle()
            lease = Lease(connection, True) if connection else Lease(self._connect(), False)
            try:
                yield lease
            except BaseException:
                close_quietly(lease.connection)
                raise
            if lease.keep:
                with self._lock:
                    self._idle.append((lease.connection, time.monotonic()))
            else:
                close_quietly(lease.connection)
        finally:
            self._slots.release()

    def _take_idle(self) -> smtplib.SMTP | None:
        # The list is oldest first: drop the too-old ones from the front, take the newest.
        now = time.monotonic()
        with self._lock:
            fresh_from = 0
            oldest_allowed = now - self.max_idle_s
            while fresh_from < len(self._idle) and self._idle[fresh_from][1] < oldest_allowed:
                fresh_from += 1
            stale = [connection for connection, _ in self._idle[:fresh_from]]
            del self._idle[:fresh_from]
            found = self._idle.pop()[0] if self._idle else None
        for connection in stale:
            close_quietly(connection)
        return found

    def discard_idle(self) -> None:
        """Close every idle connection (after one turned out dead: the server restarted)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection, _ in idle:
            close_quietly(connection)

    def idle_count(self) -> int:
        """How many open connections wait for a message."""
        with self._lock:
            return len(self._idle)

    def close(self) -> None:
        """Say QUIT on every idle connection and close it."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection, _ in idle:
            with contextlib.suppress(Exception):
                connection.quit()
            close_quietly(connection)
