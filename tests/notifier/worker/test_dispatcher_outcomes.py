"""Every answer of the delivery service, end to end through the database: the
notification's new state and the attempt row recorded for it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from notifier.database import utcnow
from notifier.worker.client import DeliveryResult
from tests.dispatch_steps import dispatch_due
from tests.factories import DeliveryAttemptFactory, NotificationFactory
from tests.notifier.worker.conftest import (
    DELIVER,
    attempts_of,
    error_answer,
    make_due,
    reload,
    sent_answer,
)


def test_a_due_notification_is_sent_with_its_delivery_key(dispatcher, mocked):
    notification = NotificationFactory(title="Hi", content="Body", target="bob@example.com")
    key, nid = notification.delivery_key, notification.id
    mocked.post(DELIVER, json=sent_answer("sim-1"))

    assert dispatch_due(dispatcher) == 1

    body = json.loads(mocked.calls[0].request.body)
    assert body == {
        "notification_id": nid,
        "idempotency_key": key,
        "channel": "email",
        "target": "bob@example.com",
        "title": "Hi",
        "content": "Body",
        "sandbox": False,
    }
    row = reload(nid)
    assert row.status == "sent"
    assert row.provider_message_id == "sim-1"
    assert row.attempts == 1
    assert row.sent_at is not None and row.sent_at >= row.created_at
    assert row.lease_expires_at is None
    assert row.error_message is None
    assert row.version == 3  # claim, then result
    [attempt] = attempts_of(nid)
    assert attempt.number == 1
    assert attempt.outcome == "sent"
    assert attempt.http_status == 200
    assert attempt.provider_message_id == "sim-1"
    assert attempt.error is None
    assert attempt.started_at <= attempt.finished_at
    assert attempt.duration_ms >= 0


def test_422_fails_it_with_the_reason_and_no_retry(dispatcher, mocked):
    nid = NotificationFactory().id
    reason = "The provider rejected the target (simulated permanent rejection)."
    mocked.post(DELIVER, status=422, json=error_answer(422, "Unprocessable Entity", reason))

    dispatch_due(dispatcher)
    make_due(nid)  # even if it were due again, a failed one is not claimed
    assert dispatch_due(dispatcher) == 0

    row = reload(nid)
    assert (row.status, row.error_message, row.attempts) == ("failed", reason, 1)
    [attempt] = attempts_of(nid)
    assert (attempt.outcome, attempt.http_status, attempt.error) == ("rejected", 422, reason)
    assert len(mocked.calls) == 1


def test_503_puts_it_back_to_pending_with_backoff(dispatcher, mocked):
    nid = NotificationFactory().id
    mocked.post(DELIVER, status=503, json=error_answer(503, "Service Unavailable", "Later."))
    before = utcnow()

    dispatch_due(dispatcher)

    row = reload(nid)
    assert (row.status, row.attempts, row.error_message) == ("pending", 1, None)
    assert row.lease_expires_at is None
    # First retry: base 2 s with equal jitter, so 1 to 2 s from now.
    delay = (row.next_attempt_at - before).total_seconds()
    assert 1.0 <= delay <= 2.5
    [attempt] = attempts_of(nid)
    assert (attempt.outcome, attempt.http_status) == ("unavailable", 503)
    assert "Later." in attempt.error
    assert dispatch_due(dispatcher) == 0  # not due yet


def test_503_retry_after_is_a_minimum(dispatcher, mocked):
    nid = NotificationFactory().id
    mocked.post(DELIVER, status=503, headers={"Retry-After": "20"})
    before = utcnow()
    dispatch_due(dispatcher)
    assert (reload(nid).next_attempt_at - before).total_seconds() >= 20


def test_retry_after_cannot_push_past_the_backoff_cap(make_dispatcher, mocked):
    nid = NotificationFactory().id
    mocked.post(DELIVER, status=503, headers={"Retry-After": "86400"})
    before = utcnow()
    dispatch_due(make_dispatcher(backoff_max_s=30))
    assert (reload(nid).next_attempt_at - before).total_seconds() <= 31


@pytest.mark.parametrize(
    ("answer", "status", "error_part"),
    [
        ({"status": 500, "body": "Internal Server Error"}, 500, "HTTP 500"),
        ({"status": 502, "body": "<html>Bad Gateway</html>"}, 502, "HTTP 502"),
        ({"status": 200, "body": "not json"}, 200, "provider_message_id"),
        ({"fault": "silence"}, None, "No answer"),
        ({"fault": "drop"}, None, "Could not reach"),
        ({"fault": "truncated", "json": sent_answer()}, None, "Bad answer"),
    ],
    ids=["500", "html-502", "non-json-200", "timeout", "connection-dropped", "truncated"],
)
def test_outages_and_garbage_are_retried(make_dispatcher, mocked, answer, status, error_part):
    nid = NotificationFactory().id
    mocked.post(DELIVER, **answer)
    dispatch_due(make_dispatcher(timeout_s=0.3))
    row = reload(nid)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at > utcnow()
    [attempt] = attempts_of(nid)
    assert (attempt.outcome, attempt.http_status) == ("unavailable", status)
    assert error_part in attempt.error


def test_other_4xx_fail_it_without_retry(dispatcher, mocked):
    nid = NotificationFactory().id
    mocked.post(DELIVER, status=413, json=error_answer(413, "Payload Too Large", "Too big."))
    dispatch_due(dispatcher)
    row = reload(nid)
    assert row.status == "failed"
    assert "HTTP 413" in row.error_message
    assert attempts_of(nid)[0].outcome == "rejected"


def test_after_max_attempts_it_fails_with_the_last_error(dispatcher, mocked):
    nid = NotificationFactory().id
    mocked.post(DELIVER, status=503, json=error_answer(503, "Service Unavailable", "Down."))
    for attempt in range(1, 4):  # max_attempts is 3 in these tests
        assert dispatch_due(dispatcher) == 1
        row = reload(nid)
        assert row.attempts == attempt
        make_due(nid)
    assert row.status == "failed"
    assert row.error_message.startswith("Delivery failed after 3 attempts; the last one:")
    assert "Down." in row.error_message
    assert [a.number for a in attempts_of(nid)] == [1, 2, 3]
    assert dispatch_due(dispatcher) == 0
    assert len(mocked.calls) == 3


def test_a_retry_that_succeeds_records_both_attempts(dispatcher, mocked):
    nid = NotificationFactory().id
    mocked.post(DELIVER, status=503)
    mocked.post(DELIVER, json=sent_answer("sim-2"))
    dispatch_due(dispatcher)
    make_due(nid)
    dispatch_due(dispatcher)
    row = reload(nid)
    assert (row.status, row.attempts, row.provider_message_id) == ("sent", 2, "sim-2")
    assert [(a.number, a.outcome) for a in attempts_of(nid)] == [
        (1, "unavailable"),
        (2, "sent"),
    ]
    keys = {json.loads(call.request.body)["idempotency_key"] for call in mocked.calls}
    assert len(keys) == 1  # a retry repeats the same key


def test_attempt_numbers_continue_after_an_edit_reset_the_counter(dispatcher, mocked):
    notification = NotificationFactory(attempts=0)  # as after editing a failed one
    DeliveryAttemptFactory(notification_id=notification.id, number=1)
    DeliveryAttemptFactory(notification_id=notification.id, number=2)
    nid = notification.id
    mocked.post(DELIVER, json=sent_answer())
    dispatch_due(dispatcher)
    assert reload(nid).attempts == 1
    assert [a.number for a in attempts_of(nid)] == [1, 2, 3]


def test_a_poison_notification_does_not_stop_the_others(dispatcher, mocked, monkeypatch):
    poison_id = NotificationFactory().id
    good = [NotificationFactory().id for _ in range(3)]
    mocked.post(DELIVER, json=sent_answer())
    deliver = dispatcher.client.deliver

    def deliver_or_explode(request):
        if request.notification_id == poison_id:
            raise RuntimeError("boom")
        return deliver(request)

    monkeypatch.setattr(dispatcher.client, "deliver", deliver_or_explode)

    assert dispatch_due(dispatcher) == 4

    assert {reload(nid).status for nid in good} == {"sent"}
    row = reload(poison_id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at > utcnow()
    [attempt] = attempts_of(poison_id)
    assert (attempt.outcome, attempt.http_status) == ("unavailable", None)
    assert "could not send" in attempt.error
    assert "RuntimeError: boom" in attempt.error


def test_scheduled_notifications_wait_for_their_time(dispatcher, mocked):
    later = NotificationFactory(next_attempt_at=utcnow() + timedelta(hours=1))
    mocked.post(DELIVER, json=sent_answer())
    assert dispatch_due(dispatcher) == 0
    assert reload(later.id).status == "pending"


def test_the_oldest_due_notifications_are_claimed_first(dispatcher):
    now = utcnow()
    ids = [
        NotificationFactory(next_attempt_at=now - timedelta(minutes=minutes)).id
        for minutes in (1, 5, 3, 4, 2)
    ]
    claims = dispatcher.queue.claim(2)
    assert sorted(c.id for c in claims) == sorted([ids[1], ids[3]])


def test_record_without_a_mock_never_touches_the_network(dispatcher):
    """`record()` alone writes what it is given (used to stage races below)."""
    nid = NotificationFactory().id
    [claim] = dispatcher.queue.claim(1)
    now = utcnow()
    result = DeliveryResult("sent", now, now, 3, 200, None, "p-1")
    assert dispatcher.queue.record(claim, result)
    assert reload(nid).status == "sent"
