"""A delivery result lands only on the try it answers: never on another user's
notification that has the same id, version and status.

The attack: Alice's notification is claimed, she deletes it, Bob's next one gets its
id (SQLite once reused the highest deleted id) and is claimed to the same version;
Alice's "rejected" must not fail Bob's message. The first test runs that sequence
through the API; the others force the same id, so that the guard (the try's
idempotency key in the compare-and-set) is proven on every database.
"""

from __future__ import annotations

from notifier.database import utcnow
from notifier.worker.client import DeliveryResult
from tests.factories import NotificationFactory
from tests.helpers import ApiClient
from tests.notifier.worker.conftest import attempts_of, reload

REJECTED = "The provider rejected the target."


def _rejected() -> DeliveryResult:
    now = utcnow()
    return DeliveryResult("rejected", now, now, 5, 422, REJECTED)


def _sent() -> DeliveryResult:
    now = utcnow()
    return DeliveryResult("sent", now, now, 5, 200, provider_message_id="bob-1")


def _untouched_sending(notification_id: int) -> None:
    row = reload(notification_id)
    assert (row.status, row.error_message, row.provider_message_id) == ("sending", None, None)


def test_a_deleted_notifications_result_never_lands_on_the_next_users_one(
    dispatcher, api: ApiClient, other_api: ApiClient
):
    alice_id = api.create().get_json()["id"]
    [alices_try] = dispatcher.queue.claim(10)
    api.delete(f"/notifications/{alice_id}", 204)
    bob_id = other_api.create(target="bob@example.com").get_json()["id"]
    [bobs_try] = dispatcher.queue.claim(10)

    assert dispatcher.queue.record(alices_try, _rejected()) is False

    _untouched_sending(bob_id)
    assert attempts_of(bob_id) == []
    assert bob_id != alice_id
    assert dispatcher.queue.record(bobs_try, _sent()) is True
    assert other_api.get(f"/notifications/{bob_id}").get_json()["status"] == "sent"


def _same_id_for_bob(dispatcher, api: ApiClient, other_api: ApiClient):
    """Alice's try in flight, her notification deleted, Bob's claimed with her id and
    version: the situation an id reuse makes, forced."""
    alice_id = api.create().get_json()["id"]
    [alices_try] = dispatcher.queue.claim(10)
    api.delete(f"/notifications/{alice_id}", 204)
    bob = other_api.get("/users/me").get_json()["id"]
    NotificationFactory(id=alice_id, user_id=bob, target="bob@example.com")
    [bobs_try] = dispatcher.queue.claim(10)
    assert (bobs_try.id, bobs_try.version) == (alices_try.id, alices_try.version)
    return alices_try, bobs_try


def test_a_result_is_not_written_on_another_notification_with_the_same_id_and_version(
    dispatcher, api, other_api
):
    alices_try, bobs_try = _same_id_for_bob(dispatcher, api, other_api)

    assert dispatcher.queue.record(alices_try, _rejected()) is False

    _untouched_sending(bobs_try.id)
    assert dispatcher.queue.record(bobs_try, _sent()) is True
    row = reload(bobs_try.id)
    assert (row.status, row.provider_message_id, row.error_message) == ("sent", "bob-1", None)


def test_in_one_batch_only_the_try_that_matches_is_applied(dispatcher, api, other_api):
    alices_try, bobs_try = _same_id_for_bob(dispatcher, api, other_api)

    done = dispatcher.queue.record_many([(alices_try, _rejected()), (bobs_try, _sent())])

    assert done == [False, True]
    row = reload(bobs_try.id)
    assert (row.status, row.provider_message_id, row.error_message) == ("sent", "bob-1", None)


def test_releasing_a_stale_try_does_not_release_another_notification(dispatcher, api, other_api):
    alices_try, bobs_try = _same_id_for_bob(dispatcher, api, other_api)

    assert dispatcher.queue.release([alices_try]) == 0

    _untouched_sending(bobs_try.id)
    assert dispatcher.queue.release([bobs_try]) == 1


def test_a_batch_between_statement_sizes_writes_each_result_once(dispatcher, api: ApiClient):
    """Five results go in the statement for six (padded with the last one again): each
    notification gets its own outcome and exactly one attempt."""
    ids = [api.create(target=f"user{i}@example.com").get_json()["id"] for i in range(5)]
    tries = dispatcher.queue.claim(10)
    outcomes = [(claim, _sent() if claim.id != ids[-1] else _rejected()) for claim in tries]

    assert dispatcher.queue.record_many(outcomes) == [True] * 5

    statuses = {i: api.get(f"/notifications/{i}").get_json()["status"] for i in ids}
    assert statuses == {**dict.fromkeys(ids[:-1], "sent"), ids[-1]: "failed"}
    assert [len(attempts_of(i)) for i in ids] == [1] * 5
