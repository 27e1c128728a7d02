"""The Waiter: local wake-ups, polling timeouts, and LISTEN/NOTIFY on PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from notifier.extensions import db
from notifier.worker.wakeup import CHANNEL, Waiter
from tests.conftest import ON_POSTGRES, postgres_only


@pytest.fixture
def waiter(app):
    waiter = Waiter(db.engine)
    waiter.start()
    yield waiter
    waiter.close()


def test_it_listens_only_on_postgresql(waiter):
    assert waiter.listening is ON_POSTGRES


def test_waiting_without_news_times_out(waiter):
    started = time.monotonic()
    assert waiter.wait(0.1) is False
    assert 0.09 <= time.monotonic() - started < 1.0


def test_wake_interrupts_a_wait_from_another_thread(waiter):
    threading.Timer(0.05, waiter.wake).start()
    started = time.monotonic()
    assert waiter.wait(5) is True
    assert time.monotonic() - started < 1.0


def test_drain_consumes_pending_wake_ups(waiter):
    waiter.wake()
    waiter.wake()
    assert waiter.drain() is True
    assert waiter.drain() is False
    assert waiter.wait(0.01) is False


def test_a_waiter_without_a_database_just_polls():
    waiter = Waiter(None)
    waiter.start()
    assert not waiter.listening
    assert waiter.wait(0.01) is False
    waiter.close()


@postgres_only
def test_a_committed_notify_wakes_it(waiter):
    waiter.drain()
    with db.engine.begin() as connection:
        connection.execute(text(f"NOTIFY {CHANNEL}"))
    started = time.monotonic()
    assert waiter.wait(5) is True
    assert time.monotonic() - started < 1.0


@postgres_only
def test_a_rolled_back_notify_does_not(waiter):
    waiter.drain()
    with db.engine.connect() as connection:
        connection.execute(text(f"NOTIFY {CHANNEL}"))
        connection.rollback()
    assert waiter.wait(0.2) is False


@postgres_only
def test_creating_a_notification_wakes_it(waiter, api):
    waiter.drain()
    api.create()
    assert waiter.wait(5) is True


@postgres_only
def test_a_lost_listener_falls_back_to_polling_and_reconnects(waiter, monkeypatch):
    monkeypatch.setattr(Waiter, "RECONNECT_BACKOFF_S", (0.05,))
    with db.engine.begin() as connection:  # kill the LISTEN connection from outside
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = 'notifier-dispatcher-listen'"
                " AND pid <> pg_backend_pid() AND datname = current_database()"
            )
        )
    deadline = time.monotonic() + 5
    while waiter.listening and time.monotonic() < deadline:
        waiter.wait(0.05)
    assert not waiter.listening
    time.sleep(0.1)
    waiter.wait(0.01)  # reconnects
    assert waiter.listening
    with db.engine.begin() as connection:
        connection.execute(text(f"NOTIFY {CHANNEL}"))
    assert waiter.wait(5) is True
