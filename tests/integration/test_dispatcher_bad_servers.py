"""Real sockets that misbehave: no answer (timeout), garbage, a connection closed
mid-request, and nobody listening. Every one is a retry, never a crash."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from tests.dispatch_steps import dispatch_due
from tests.factories import NotificationFactory
from tests.integration.conftest import free_port
from tests.notifier.worker.conftest import attempts_of, reload


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[socket.socket], None]], str]]:
    """`raw_server(handler)`: a TCP server on 127.0.0.1 calling `handler(conn)` per connection."""
    listeners: list[socket.socket] = []
    stop = threading.Event()

    def _start(handler: Callable[[socket.socket], None]) -> str:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.settimeout(0.1)
        listeners.append(listener)

        def serve() -> None:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except (TimeoutError, OSError):
                    continue
                with conn, contextlib.suppress(OSError):
                    handler(conn)

        threading.Thread(target=serve, daemon=True).start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}"

    yield _start
    stop.set()
    for listener in listeners:
        listener.close()


def _read_request(conn: socket.socket) -> None:
    conn.settimeout(2)
    conn.recv(65536)


def _garbage(conn: socket.socket) -> None:
    _read_request(conn)
    conn.sendall(b"\x00\x01 this is not HTTP at all\r\n\r\n")


def _close_at_once(conn: socket.socket) -> None:
    _read_request(conn)


def _half_an_answer(conn: socket.socket) -> None:
    _read_request(conn)
    conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{"status": "se')


def _silent(conn: socket.socket) -> None:
    _read_request(conn)
    threading.Event().wait(1.5)  # longer than the client's timeout


@pytest.mark.parametrize(
    ("handler", "error_part"),
    [
        (_garbage, "Could not reach the delivery service"),
        (_close_at_once, "Could not reach the delivery service"),
        (_half_an_answer, "Bad answer"),
        (_silent, "No answer from the delivery service within 0.5 s"),
    ],
    ids=["garbage", "closed", "truncated", "timeout"],
)
def test_a_misbehaving_server_means_retry_later(raw_server, make_dispatcher, handler, error_part):
    nid = NotificationFactory().id
    dispatcher = make_dispatcher(raw_server(handler), timeout_s=0.5)

    assert dispatch_due(dispatcher) == 1

    row = reload(nid)
    assert (row.status, row.attempts) == ("pending", 1)
    [attempt] = attempts_of(nid)
    assert (attempt.outcome, attempt.http_status) == ("unavailable", None)
    assert error_part in attempt.error


def test_nobody_listening_means_retry_later(make_dispatcher):
    nid = NotificationFactory().id
    dispatch_due(make_dispatcher(f"http://127.0.0.1:{free_port()}"))
    [attempt] = attempts_of(nid)
    assert (attempt.outcome, attempt.http_status) == ("unavailable", None)
    assert "refused" in attempt.error.lower()
    assert reload(nid).status == "pending"
