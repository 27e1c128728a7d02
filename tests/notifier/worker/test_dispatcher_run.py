"""Stopping and the run loop: releasing unsent claims, finishing in-flight work, outages."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from notifier.database import utcnow
from notifier.extensions import db
from notifier.notifications.models import Notification
from tests.dispatch_steps import deliver, dispatch_due
from tests.factories import NotificationFactory
from tests.notifier.worker.conftest import DELIVER, attempts_of, reload, sent_answer


def _statuses() -> dict[int, str]:
    db.session.expire_all()
    return dict(db.session.execute(select(Notification.id, Notification.status)).all())


# --- stopping -----------------------------------------------------------------------


def test_stopping_releases_claims_that_were_not_sent(dispatcher, mocked):
    ids = [NotificationFactory().id for _ in range(3)]
    versions = {nid: reload(nid).version for nid in ids}
    claims = dispatcher.queue.claim(10)

    dispatcher.stop()
    for claim in claims:
        deliver(dispatcher, claim)

    assert not mocked.calls
    for nid in ids:
        row = reload(nid)
        assert (row.status, row.attempts, row.lease_expires_at) == ("pending", 0, None)
        assert row.version == versions[nid] + 2
        assert row.next_attempt_at <= utcnow()
        assert attempts_of(nid) == []
    assert dispatcher.counts["released"] == 3


def test_a_claim_whose_lease_is_nearly_spent_is_released_instead_of_sent(dispatcher, mocked):
    nid = NotificationFactory().id
    [claim] = dispatcher.queue.claim(10)
    stale = replace(claim, lease_deadline=time.monotonic() + 0.1)  # less than the timeout
    deliver(dispatcher, stale)
    assert not mocked.calls
    row = reload(nid)
    assert (row.status, row.attempts) == ("pending", 0)


def test_stopping_releases_the_claims_still_waiting_for_a_sender(make_dispatcher, mocked):
    ids = [NotificationFactory().id for _ in range(4)]
    in_flight = _serve_slowly(mocked, 0.5, expected=1)
    dispatcher = make_dispatcher(concurrency=1, batch_size=5)

    _stop_once_in_flight(dispatcher, in_flight)

    rows = [reload(nid) for nid in ids]
    assert sorted(row.status for row in rows) == ["pending", "pending", "pending", "sent"]
    assert all(row.attempts == 0 for row in rows if row.status == "pending")
    assert dispatcher.counts["released"] == 3
    assert len(mocked.calls) == 1


def _serve_slowly(mocked, seconds: float, expected: int) -> threading.Event:
    """Answer "sent" after `seconds`; the event is set once `expected` requests arrived."""
    all_started = threading.Event()
    arrived = []
    lock = threading.Lock()

    def answer(request):
        with lock:
            arrived.append(request)
            if len(arrived) >= expected:
                all_started.set()
        time.sleep(seconds)
        return 200, {}, '{"status": "sent", "provider_message_id": "slow"}'

    mocked.add_callback("POST", DELIVER, callback=answer)
    return all_started


def _stop_once_in_flight(dispatcher, in_flight: threading.Event) -> None:
    """Run the dispatcher, stop it once its deliveries are in flight; it must end."""
    runner = threading.Thread(target=dispatcher.run)
    runner.start()
    assert in_flight.wait(5)
    dispatcher.stop()
    runner.join(timeout=10)
    assert not runner.is_alive()


# --- the run loop -----------------------------------------------------------------


def test_run_stops_on_request_after_finishing_what_is_in_flight(make_dispatcher, mocked):
    ids = [NotificationFactory().id for _ in range(2)]
    in_flight = _serve_slowly(mocked, 0.5, expected=2)
    dispatcher = make_dispatcher(concurrency=2)

    _stop_once_in_flight(dispatcher, in_flight)

    assert {_statuses()[nid] for nid in ids} == {"sent"}


def test_run_once_delivers_what_is_due_then_returns(make_dispatcher, mocked):
    ids = [NotificationFactory().id for _ in range(5)]
    later = NotificationFactory(next_attempt_at=utcnow() + timedelta(hours=1)).id
    mocked.post(DELIVER, status=503)  # the first request; every later one is sent
    mocked.post(DELIVER, json=sent_answer())
    dispatcher = make_dispatcher(batch_size=2)

    runner = threading.Thread(target=dispatcher.run, kwargs={"once": True})
    runner.start()
    runner.join(timeout=10)

    assert not runner.is_alive()
    rows = [reload(nid) for nid in ids]
    assert sorted(row.status for row in rows) == ["pending"] + ["sent"] * 4
    assert all(row.attempts == 1 for row in rows)  # the retry is not due yet
    assert reload(later).status == "pending"
    assert reload(later).attempts == 0


def test_run_keeps_going_through_a_database_outage(make_dispatcher, mocked, monkeypatch):
    nid = NotificationFactory().id
    mocked.post(DELIVER, json=sent_answer())
    dispatcher = make_dispatcher(db_retry_delays_s=(0.01, 0.02))
    real_claim, real_record = dispatcher.queue.claim, dispatcher.queue.record_many
    failures = {"claim": 3, "record": 1}

    def flaky(name, real):
        def call(*args, **kwargs):
            if failures[name]:
                failures[name] -= 1
                raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(dispatcher.queue, "claim", flaky("claim", real_claim))
    monkeypatch.setattr(dispatcher.queue, "record_many", flaky("record", real_record))
    runner = threading.Thread(target=dispatcher.run, kwargs={"once": True})
    runner.start()
    runner.join(timeout=10)

    assert not runner.is_alive()
    assert failures == {"claim": 0, "record": 0}
    assert reload(nid).status == "sent"


def test_a_failed_record_leaves_the_row_to_its_lease(make_dispatcher, mocked, monkeypatch):
    """If the result cannot be written at all, the row stays `sending` and is taken
    back when its lease expires; the repeat carries the same idempotency key."""
    dispatcher = make_dispatcher(db_retry_delays_s=(0.01,))
    nid = NotificationFactory().id
    mocked.post(DELIVER, json=sent_answer())

    def down(*args, **kwargs):
        raise OperationalError("UPDATE", {}, Exception("database is down"))

    monkeypatch.setattr(dispatcher.queue, "record_many", down)
    dispatch_due(dispatcher)
    assert reload(nid).status == "sending"


def test_a_bug_in_the_claim_does_not_crash_the_loop(make_dispatcher, mocked, monkeypatch):
    nid = NotificationFactory().id
    mocked.post(DELIVER, json=sent_answer())
    dispatcher = make_dispatcher(db_retry_delays_s=(0.01,))
    real_claim = dispatcher.queue.claim
    calls = []

    def buggy(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug")
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(dispatcher.queue, "claim", buggy)
    runner = threading.Thread(target=dispatcher.run, kwargs={"once": True})
    runner.start()
    runner.join(timeout=10)

    assert not runner.is_alive()
    assert reload(nid).status == "sent"
