"""Claiming, leases, compare-and-set results, races with edits and deletes, and stopping."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from notifier.database import utcnow
from notifier.extensions import db
from notifier.notifications.lifecycle.claims import claim_due
from notifier.notifications.models import Notification
from notifier.worker.client import DeliveryResult
from notifier.worker.recorder import Recorder
from tests.conftest import ON_POSTGRES, postgres_only
from tests.dispatch_steps import deliver, dispatch_due
from tests.factories import NotificationFactory
from tests.locking import answer_after_commit
from tests.notifier.worker.conftest import (
    DELIVER,
    attempts_of,
    expire_lease,
    reload,
    sent_answer,
)


def _result(outcome: str = "sent", **fields) -> DeliveryResult:
    now = utcnow()
    defaults = {"http_status": 200, "provider_message_id": "p-1"} if outcome == "sent" else {}
    return DeliveryResult(outcome, now, now, 5, **(defaults | fields))


def _statuses() -> dict[int, str]:
    db.session.expire_all()
    return dict(db.session.execute(select(Notification.id, Notification.status)).all())


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
    assert dispatcher.queue.record(first, _result("rejected", http_status=422, error="no")) is False
    assert reload(nid).status == "sending"
    assert second_dispatcher.queue.record(second, _result("sent")) is True
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


# --- compare-and-set against deletes and edits ------------------------------------


def test_a_result_for_a_deleted_notification_is_dropped(dispatcher, api, user):
    nid = NotificationFactory(user_id=user.id).id
    [claim] = dispatcher.queue.claim(10)

    api.delete(f"/notifications/{nid}", 204)

    assert dispatcher.queue.record(claim, _result("sent")) is False
    assert reload(nid) is None
    assert attempts_of(nid) == []
    assert dispatcher.counts["dropped"] == 1


def test_a_late_result_does_not_overwrite_an_edit(dispatcher, make_dispatcher, api, user):
    """A's lease expires, B takes the row and it is rejected, the user fixes it: A's
    late "sent" must not mark the corrected notification sent."""
    nid = NotificationFactory(user_id=user.id).id
    [late] = dispatcher.queue.claim(10)
    expire_lease(nid)
    other = make_dispatcher()
    [current] = other.queue.claim(10)
    other.queue.record(current, _result("rejected", http_status=422, error="Bad target."))
    api.patch(f"/notifications/{nid}", 200, json={"target": "fixed@example.com"})
    edited = reload(nid)
    assert (edited.status, edited.attempts) == ("pending", 0)

    assert dispatcher.queue.record(late, _result("sent")) is False

    row = reload(nid)
    assert (row.status, row.target, row.version) == ("pending", "fixed@example.com", edited.version)
    assert row.provider_message_id is None
    assert row.delivery_key != late.request.idempotency_key


def test_an_edit_after_the_claim_is_409_and_changes_nothing(dispatcher, api, user):
    nid = NotificationFactory(user_id=user.id, title="Original").id
    [claim] = dispatcher.queue.claim(10)

    response = api.patch(f"/notifications/{nid}", 409, json={"title": "Changed"})
    assert "sending" in response.get_json()["message"]

    assert dispatcher.queue.record(claim, _result("sent")) is True
    row = reload(nid)
    assert (row.title, row.status) == ("Original", "sent")


def test_an_edit_before_the_claim_is_what_gets_sent(dispatcher, api, user):
    notification = NotificationFactory(user_id=user.id, title="Original")
    nid, old_key, old_version = notification.id, notification.delivery_key, notification.version

    api.patch(f"/notifications/{nid}", 200, json={"title": "Edited"})
    [claim] = dispatcher.queue.claim(10)

    assert claim.version == old_version + 2  # the edit, then the claim
    assert claim.request.title == "Edited"
    assert claim.request.idempotency_key != old_key


@postgres_only
def test_an_edit_racing_an_open_claim_waits_for_it_and_loses(dispatcher, settings, api, user):
    """The claim's transaction holds the row lock; the edit's compare-and-set waits
    for it, sees the new version and status, and answers 409."""
    nid = NotificationFactory(user_id=user.id).id
    now = utcnow()
    with db.engine.connect() as connection:
        transaction = connection.begin()
        claimed = claim_due(connection, 10, now, now + timedelta(seconds=30))
        assert [row.id for row in claimed] == [nid]
        answer = answer_after_commit(
            transaction,
            lambda: api.patch(f"/notifications/{nid}", json={"title": "x"}).status_code,
            "the claim's row lock",
        )
    assert answer == 409
    assert reload(nid).status == "sending"


@postgres_only
def test_concurrent_claims_skip_each_others_rows(dispatcher, make_dispatcher):
    ids = {NotificationFactory().id for _ in range(6)}
    now = utcnow()
    with db.engine.connect() as connection:
        transaction = connection.begin()
        first = {r.id for r in claim_due(connection, 3, now, now)}
        # The first claim is not committed: its rows are locked, SKIP LOCKED steps over them.
        second = {c.id for c in make_dispatcher().queue.claim(10)}
        transaction.commit()
    assert len(first) == 3
    assert first.isdisjoint(second)
    assert first | second == ids


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
    runner = threading.Thread(target=dispatcher.run)
    runner.start()
    assert in_flight.wait(5)

    dispatcher.stop()
    runner.join(timeout=10)

    assert not runner.is_alive()
    rows = [reload(nid) for nid in ids]
    assert sorted(row.status for row in rows) == ["pending", "pending", "pending", "sent"]
    assert all(row.attempts == 0 for row in rows if row.status == "pending")
    assert dispatcher.counts["released"] == 3
    assert len(mocked.calls) == 1


def test_one_result_in_a_batch_cannot_be_stored_and_the_others_still_are(dispatcher):
    """A result the database refuses (PostgreSQL text cannot hold NUL) is written on its
    own after the batch fails, so it does not take the rest of the batch with it."""
    ids = [NotificationFactory().id for _ in range(3)]
    claims = {claim.id: claim for claim in dispatcher.queue.claim(10)}
    now = utcnow()
    good = _result("sent")
    poison = DeliveryResult("unavailable", now, now, 1, 503, "bad \x00 byte")
    batch = [(claims[ids[0]], good), (claims[ids[1]], poison), (claims[ids[2]], good)]
    finished: list[int] = []
    recorder = Recorder(dispatcher.queue, dispatcher.settings, done=finished.append)
    for claim, result in batch:
        recorder.put(claim, result)
    recorder.finish()

    recorder.run()

    assert reload(ids[0]).status == "sent"
    assert reload(ids[2]).status == "sent"
    # PostgreSQL refuses it: it stays `sending` until its lease expires. SQLite stores it.
    assert reload(ids[1]).status == ("sending" if ON_POSTGRES else "pending")
    assert sum(finished) == 3  # every claim is accounted for, the poison one too


def test_a_batch_mixes_applied_stale_and_deleted_results(dispatcher, make_dispatcher, api, user):
    applied_id, stale_id, deleted_id = (NotificationFactory(user_id=user.id).id for _ in range(3))
    claims = {claim.id: claim for claim in dispatcher.queue.claim(10)}
    expire_lease(stale_id)
    make_dispatcher().queue.claim(10)  # takes the stale one back
    api.delete(f"/notifications/{deleted_id}", 204)

    done = dispatcher.queue.record_many(
        [(claims[i], _result("sent")) for i in (applied_id, stale_id, deleted_id)]
    )

    assert done == [True, False, False]
    assert reload(applied_id).status == "sent"
    assert reload(stale_id).status == "sending"
    assert [a.outcome for a in attempts_of(stale_id)] == ["unavailable", "sent"]
    assert attempts_of(deleted_id) == []
    assert dispatcher.counts["dropped"] == 2


def test_a_late_result_and_the_next_claims_result_in_one_batch_are_numbered_in_order(
    dispatcher,
):
    """Both results of one notification land in one batch (its lease expired and this
    same dispatcher took it back): the stale one is dropped, both tries are in the
    history, each with its own number."""
    nid = NotificationFactory().id
    [late] = dispatcher.queue.claim(10)
    expire_lease(nid)
    [current] = dispatcher.queue.claim(10)

    done = dispatcher.queue.record_many(
        [(late, _result("rejected", http_status=422, error="no")), (current, _result("sent"))]
    )

    assert done == [False, True]
    assert reload(nid).status == "sent"
    assert [(a.number, a.outcome) for a in attempts_of(nid)] == [
        (1, "unavailable"),
        (2, "rejected"),
        (3, "sent"),
    ]


def test_a_release_does_not_touch_a_claim_taken_back_meanwhile(dispatcher, make_dispatcher):
    nid = NotificationFactory().id
    [stale] = dispatcher.queue.claim(10)
    expire_lease(nid)
    make_dispatcher().queue.claim(10)
    assert dispatcher.queue.release([stale]) == 0
    assert reload(nid).status == "sending"


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


def test_run_stops_on_request_after_finishing_what_is_in_flight(make_dispatcher, mocked):
    ids = [NotificationFactory().id for _ in range(2)]
    in_flight = _serve_slowly(mocked, 0.5, expected=2)
    dispatcher = make_dispatcher(concurrency=2)
    runner = threading.Thread(target=dispatcher.run)
    runner.start()
    assert in_flight.wait(5)

    dispatcher.stop()
    runner.join(timeout=10)

    assert not runner.is_alive()
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
