"""A PostgreSQL server that accepts connections and never answers (a hung server, a
stalled pooler, a half-open path): /ready still answers 503 within the connect
timeout instead of holding a worker until gunicorn kills it and the client gets nothing."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine

import config
from notifier.extensions import db


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that accepts connections and never sends a byte."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(timeout=5)
    for connection in accepted:
        connection.close()
    listener.close()


def test_ready_is_503_when_the_database_accepts_and_never_answers(
    app, client, monkeypatch, silent_server
):
    monkeypatch.setenv("DB_CONNECT_TIMEOUT_S", "1")
    url = f"postgresql+psycopg2://postgres@127.0.0.1:{silent_server}/stalled"
    db.session.remove()
    monkeypatch.setitem(db.engines, None, create_engine(url, **config._engine_options(url)))
    answers = []

    def ask() -> None:
        with app.app_context():
            answers.append(client.get("/ready"))

    asking = threading.Thread(target=ask, daemon=True)
    asking.start()
    # Without a connect timeout libpq waits for ever: this bound is liveness, not speed.
    asking.join(timeout=60)
    db.session.remove()

    assert answers, "/ready did not answer"
    assert answers[0].status_code == 503
    assert answers[0].get_json()["message"] == "The database is unreachable."
