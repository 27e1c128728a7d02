"""Claiming and leases: what a claim takes, and what happens when its lease runs out."""

from __future__ import annotations

from notifier.database import utcnow
from tests.factories import NotificationFactory
from tests.notifier.worker.conftest import attempts_of, delivery_result, expire_lease, reload

# --- claiming ---------------------------------------------------------------------


def test_a_claim_leases_the_row_and_counts_the_attempt(dispatcher, settings):
    notification = NotificationFactory()
    nid, version = notification.id, notification.version
    before = utcnow()

    [claim] = dispatcher.queue.claim(10)

    assert (claim.id, claim.version, claim.attempts) == (nid, version + 1, 1)
    assert claim.request.idempotency_key == notification.delivery_key
    row = reload(nid)
    assert (row.status, row.attempts, row.version) == ("sending", 1, version + 1)
    lease = (row.lease_expires_at - before).total_seconds()
    assert settings.lease_s - 1 <= lease <= settings.lease_s + 1


def test_a_claimed_row_is_not_claimed_again_while_its_lease_runs(dispatcher, make_dispatcher):
    NotificationFactory()
    assert len(dispatcher.queue.claim(10)) == 1
    assert make_dispatcher().queue.claim(10) == []


def test_a_claim_takes_at_most_the_limit(dispatcher):
    for _ in range(5):
        NotificationFactory()
    assert len(dispatcher.queue.claim(3)) == 3
    assert len(dispatcher.queue.claim(3)) == 2
    assert dispatcher.queue.claim(3) == []


def test_sent_and_failed_rows_are_never_claimed(dispatcher):
    NotificationFactory(status="sent")
    NotificationFactory(status="failed")
    assert dispatcher.queue.claim(10) == []


# --- leases -----------------------------------------------------------------------


def test_an_expired_lease_is_taken_back_and_the_late_result_is_dropped(dispatcher, make_dispatcher):
    nid = NotificationFactory().id
    [first] = dispatcher.queue.claim(10)
    expire_lease(nid)

    second_dispatcher = make_dispatcher()
    [second] = second_dispatcher.queue.claim(10)

    assert second.id == nid
    assert (second.attempts, second.version) == (2, first.version + 1)
    assert second.request.idempotency_key == first.request.idempotency_key
    lost = attempts_of(nid)
    assert [(a.number, a.outcome, a.http_status) for a in lost] == [(1, "unavailable", None)]
    assert "stopped before its lease expired" in lost[0].error

    # The first dispatcher wakes up with a result: it must not overwrite the new claim.
    assert (
        dispatcher.queue.record(first, delivery_result("rejected", http_status=422, error="no"))
        is False
    )
    assert reload(nid).status == "sending"
    assert second_dispatcher.queue.record(second, delivery_result("sent")) is True
    row = reload(nid)
    assert (row.status, row.attempts, row.error_message) == ("sent", 2, None)
    # Both tries happened, so both are in the history, numbered in order.
    assert [(a.number, a.outcome) for a in attempts_of(nid)] == [
        (1, "unavailable"),
        (2, "rejected"),
        (3, "sent"),
    ]


def test_a_lease_that_has_not_expired_is_left_alone(dispatcher, make_dispatcher):
    NotificationFactory()
    dispatcher.queue.claim(10)
    assert make_dispatcher().queue.claim(10) == []


def test_an_expired_lease_on_the_last_attempt_fails_the_notification(dispatcher):
    nid = NotificationFactory(attempts=2).id  # max_attempts is 3: the claim makes the last
    dispatcher.queue.claim(10)
    expire_lease(nid)

    assert dispatcher.queue.claim(10) == []

    row = reload(nid)
    assert row.status == "failed"
    assert row.lease_expires_at is None
    assert row.error_message.startswith("Gave up after 3 attempts")
    assert len(attempts_of(nid)) == 1


def test_expired_leases_are_reclaimed_before_new_work(dispatcher):
    stale = NotificationFactory().id
    dispatcher.queue.claim(10)
    expire_lease(stale, ago_s=5)
    fresh = NotificationFactory().id
    assert [c.id for c in dispatcher.queue.claim(1)] == [stale]
    assert [c.id for c in dispatcher.queue.claim(1)] == [fresh]
