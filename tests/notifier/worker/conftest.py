"""Fixtures for the dispatcher's unit tests: a dispatcher over the test database and a
stand-in delivery service on a real socket (`fake_delivery`), with backoff small enough to
retry at once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import update

from notifier.database import utcnow
from notifier.extensions import db
from notifier.notifications.models import DeliveryAttempt, Notification
from notifier.worker.client import DeliveryResult
from notifier.worker.policy import Settings
from notifier.worker.runner import Dispatcher
from tests.notifier.worker.fake_delivery import FakeDelivery

# Answers are registered by path: one stand-in serves every test, on a port of its own.
DELIVER = "/deliver"


@pytest.fixture(scope="session")
def delivery_server() -> Iterator[FakeDelivery]:
    server = FakeDelivery()
    yield server
    server.close()


@pytest.fixture
def settings(app, delivery_server) -> Settings:
    return Settings.from_config(
        app.config,
        service_url=delivery_server.url,
        timeout_s=1.0,
        max_attempts=3,
        backoff_base_s=2.0,
        backoff_max_s=60.0,
        lease_s=30.0,
        concurrency=4,
        batch_size=10,
        poll_interval_s=0.05,
    )


@pytest.fixture
def make_dispatcher(settings) -> Iterator[Callable[..., Dispatcher]]:
    """`make_dispatcher(max_attempts=1)`: a dispatcher with some settings changed."""
    made: list[Dispatcher] = []

    def _make(**overrides) -> Dispatcher:
        dispatcher = Dispatcher(db.engine, replace(settings, **overrides))
        made.append(dispatcher)
        return dispatcher

    yield _make
    for dispatcher in made:
        dispatcher.client.close()
        dispatcher.waiter.close()


@pytest.fixture
def dispatcher(make_dispatcher) -> Dispatcher:
    return make_dispatcher()


@pytest.fixture
def mocked(delivery_server) -> Iterator[FakeDelivery]:
    """The stand-in delivery service, with no answer registered and no call seen yet."""
    delivery_server.reset()
    yield delivery_server
    delivery_server.reset()


def sent_answer(provider_id: str = "prov-1") -> dict:
    return {
        "status": "sent",
        "provider_message_id": provider_id,
        "sent_at": utcnow().isoformat(),
        "details": {},
    }


def delivery_result(outcome: str = "sent", **fields) -> DeliveryResult:
    """A result as a sender hands it to the queue; a "sent" one has a status and a provider id."""
    now = utcnow()
    defaults = {"http_status": 200, "provider_message_id": "p-1"} if outcome == "sent" else {}
    return DeliveryResult(outcome, now, now, 5, **(defaults | fields))


def error_answer(code: int, status: str, message: str) -> dict:
    return {"code": code, "status": status, "message": message}


def reload(notification_id: int) -> Notification | None:
    """The row as the database has it now (not the session's cached copy)."""
    db.session.expire_all()
    return db.session.get(Notification, notification_id)


def attempts_of(notification_id: int) -> list[DeliveryAttempt]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            db.select(DeliveryAttempt)
            .where(DeliveryAttempt.notification_id == notification_id)
            .order_by(DeliveryAttempt.number)
        )
    )


def make_due(notification_id: int) -> None:
    """Pretend the backoff has passed."""
    with db.engine.begin() as connection:
        connection.execute(
            update(Notification)
            .where(Notification.id == notification_id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )


def expire_lease(notification_id: int, ago_s: float = 1.0) -> None:
    """Pretend the dispatcher holding the row died `ago_s` seconds after its lease ran out."""
    with db.engine.begin() as connection:
        connection.execute(
            update(Notification)
            .where(Notification.id == notification_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=ago_s))
        )
