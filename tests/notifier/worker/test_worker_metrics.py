"""The worker's series: delivery outcomes as the dispatcher records them, the queue
gauges measured at each scrape, and the token-checked `/metrics` server."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
import requests

from notifier.database import utcnow
from notifier.extensions import db
from notifier.notifications.models import Notification
from notifier.observability.exposition import start_worker_metrics_server
from notifier.observability.metrics import (
    due_queue_stats,
    record_webhook_delivery,
    set_queue_gauges,
    worker_metrics,
)
from tests.dispatch_steps import dispatch_due
from tests.factories import NotificationFactory
from tests.notifier.worker.conftest import DELIVER, error_answer, sent_answer
from tests.observability.scrape import AUTH, TOKEN, samples, value

DELIVERIES = "notifier_deliveries_total"


def current() -> dict:
    from prometheus_client import generate_latest

    return samples(generate_latest(worker_metrics().registry).decode())


def queue_stats(engine=None) -> tuple[int, float]:
    return due_queue_stats(engine or db.engine, Notification.__table__, "pending", utcnow())


@pytest.fixture
def server(app):
    engine = db.engine  # the scrape runs in the server's thread, outside the app context

    def refresh() -> None:
        set_queue_gauges(*queue_stats(engine))

    started = start_worker_metrics_server(0, TOKEN, host="127.0.0.1", before_scrape=refresh)
    yield f"http://127.0.0.1:{started.server_port}"
    started.shutdown()
    started.server_close()


def test_outcomes_are_counted_by_channel_when_recorded(dispatcher, mocked):
    before = current()
    NotificationFactory(channel="email")
    NotificationFactory(channel="sms", target="+14155552671")
    rejected = NotificationFactory(channel="email", target="reject@example.com")

    def answer(request):  # by recipient: the three go out at once, in any order
        if json.loads(request.body)["target"] == "reject@example.com":
            return 422, {}, json.dumps(error_answer(422, "Unprocessable Entity", "No."))
        return 200, {}, json.dumps(sent_answer())

    mocked.add_callback("POST", DELIVER, callback=answer)

    assert dispatch_due(dispatcher) == 3

    after = current()
    counts = {
        (channel, outcome): value(after, DELIVERIES, channel=channel, outcome=outcome)
        - value(before, DELIVERIES, channel=channel, outcome=outcome)
        for channel in ("email", "sms")
        for outcome in ("sent", "rejected", "unavailable")
    }
    assert sum(counts.values()) == 3
    assert counts[("email", "rejected")] == 1, rejected
    assert counts[("email", "sent")] + counts[("sms", "sent")] == 2
    duration = "notifier_delivery_duration_seconds_count"
    assert value(after, duration, channel="email") - value(before, duration, channel="email") == 2


def test_the_queue_gauges_count_due_pending_rows_and_their_lag(app):
    now = utcnow()
    NotificationFactory(next_attempt_at=now - timedelta(seconds=120))
    NotificationFactory(next_attempt_at=now - timedelta(seconds=5))
    NotificationFactory(next_attempt_at=now + timedelta(hours=1))  # not due yet
    NotificationFactory(status="sent", next_attempt_at=now - timedelta(hours=1))

    due, oldest = queue_stats()

    assert due == 2
    assert 120 <= oldest < 180


def test_an_empty_queue_has_no_lag(app):
    assert queue_stats() == (0, 0.0)


def test_the_worker_server_needs_the_token(server):
    assert requests.get(f"{server}/metrics", timeout=5).status_code == 401
    wrong = requests.get(f"{server}/metrics", headers={"Authorization": "Bearer x"}, timeout=5)
    assert wrong.status_code == 401
    assert wrong.json()["code"] == 401 and wrong.json()["status"] == "Unauthorized"
    other = requests.get(f"{server}/elsewhere", headers=AUTH, timeout=5)
    assert other.status_code == 404 and other.json()["code"] == 404


def test_the_worker_server_exports_the_queue_and_webhook_series(server):
    NotificationFactory(next_attempt_at=utcnow() - timedelta(seconds=30))
    record_webhook_delivery("retry")

    response = requests.get(f"{server}/metrics", headers=AUTH, timeout=5)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    found = samples(response.text)
    assert value(found, "notifier_notifications_due") == 1
    assert value(found, "notifier_oldest_due_seconds") >= 30
    assert value(found, "notifier_webhook_deliveries_total", outcome="retry") >= 1
    assert not any(name.startswith("notifier_http_") for name, _ in found)


def test_unknown_outcomes_are_refused_to_keep_labels_bounded():
    with pytest.raises(ValueError, match="webhook outcome"):
        record_webhook_delivery("exploded")


def test_a_send_logs_with_the_notification_id(dispatcher, mocked, monkeypatch, caplog):
    notification_id = NotificationFactory().id

    def explode(request):
        logging.getLogger("notifier.worker.client").warning("calling the provider")
        raise RuntimeError("boom")

    monkeypatch.setattr(dispatcher.client, "deliver", explode)
    with caplog.at_level(logging.INFO):
        dispatch_due(dispatcher)

    about = [record for record in caplog.records if "provider" in record.getMessage()]
    about += [record for record in caplog.records if "could not be sent" in record.getMessage()]
    assert len(about) == 2
    assert {record.notification_id for record in about} == {notification_id}
    assert not any(
        hasattr(record, "notification_id")
        for record in caplog.records
        if record.name == "notifier.worker.queue"
    )
