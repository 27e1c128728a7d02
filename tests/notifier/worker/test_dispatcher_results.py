"""Compare-and-set results: a result races deletes, edits and other claims, alone or in a batch."""

from __future__ import annotations

from datetime import timedelta

from notifier.database import utcnow
from notifier.extensions import db
from notifier.notifications.lifecycle.claims import claim_due
from notifier.worker.client import DeliveryResult
from notifier.worker.recorder import Recorder
from tests.conftest import ON_POSTGRES, postgres_only
from tests.factories import NotificationFactory
from tests.locking import answer_after_commit
from tests.notifier.worker.conftest import attempts_of, delivery_result, expire_lease, reload

# --- compare-and-set against deletes and edits ------------------------------------


def test_a_result_for_a_deleted_notification_is_dropped(dispatcher, api, user):
    nid = NotificationFactory(user_id=user.id).id
    [claim] = dispatcher.queue.claim(10)

    api.delete(f"/notifications/{nid}", 204)

    assert dispatcher.queue.record(claim, delivery_result("sent")) is False
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
    other.queue.record(current, delivery_result("rejected", http_status=422, error="Bad target."))
    api.patch(f"/notifications/{nid}", 200, json={"target": "fixed@example.com"})
    edited = reload(nid)
    assert (edited.status, edited.attempts) == ("pending", 0)

    assert dispatcher.queue.record(late, delivery_result("sent")) is False

    row = reload(nid)
    assert (row.status, row.target, row.version) == ("pending", "fixed@example.com", edited.version)
    assert row.provider_message_id is None
    assert row.delivery_key != late.request.idempotency_key


def test_an_edit_after_the_claim_is_409_and_changes_nothing(dispatcher, api, user):
    nid = NotificationFactory(user_id=user.id, title="Original").id
    [claim] = dispatcher.queue.claim(10)

    response = api.patch(f"/notifications/{nid}", 409, json={"title": "Changed"})
    assert "sending" in response.get_json()["message"]

    assert dispatcher.queue.record(claim, delivery_result("sent")) is True
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


# --- results recorded in a batch --------------------------------------------------


def test_one_result_in_a_batch_cannot_be_stored_and_the_others_still_are(dispatcher):
    """A result the database refuses (PostgreSQL text cannot hold NUL) is written on its
    own after the batch fails, so it does not take the rest of the batch with it."""
    ids = [NotificationFactory().id for _ in range(3)]
    claims = {claim.id: claim for claim in dispatcher.queue.claim(10)}
    now = utcnow()
    good = delivery_result("sent")
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
        [(claims[i], delivery_result("sent")) for i in (applied_id, stale_id, deleted_id)]
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
        [
            (late, delivery_result("rejected", http_status=422, error="no")),
            (current, delivery_result("sent")),
        ]
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
