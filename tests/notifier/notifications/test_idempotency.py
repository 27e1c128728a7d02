"""Idempotency-Key on POST /notifications."""

import threading
from datetime import timedelta

import pytest

from notifier.database import utcnow
from notifier.extensions import db
from notifier.notifications.models import IdempotencyKey, Notification
from tests.conftest import postgres_only
from tests.factories import PASSWORD, UserFactory
from tests.helpers import ApiClient

BODY = {"title": "Hi", "content": "Once only", "channel": "email", "target": "a@example.com"}


def _post(api, key, body=BODY):
    return api.post("/notifications", json=body, headers={"Idempotency-Key": key})


def _count() -> int:
    return db.session.query(Notification).count()


def test_same_key_replays_the_first_answer(api):
    first = _post(api, "order-42")
    second = _post(api, "order-42")
    assert first.status_code == second.status_code == 201
    assert second.get_json() == first.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Location"] == first.headers["Location"]
    assert _count() == 1


def test_same_key_with_another_body_is_422(api):
    _post(api, "order-42")
    response = _post(api, "order-42", {**BODY, "content": "Different"})
    assert response.status_code == 422
    assert "Idempotency-Key" in response.get_json()["errors"]["headers"]
    assert _count() == 1


def test_keys_are_per_user(api, other_api):
    assert _post(api, "shared").get_json()["id"] != _post(other_api, "shared").get_json()["id"]
    assert _count() == 2


def test_a_request_that_failed_validation_does_not_use_the_key(api):
    assert _post(api, "k1", {**BODY, "channel": "fax"}).status_code == 422
    response = _post(api, "k1")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "with space"])
def test_invalid_keys_are_422(api, key):
    response = _post(api, key)
    assert response.status_code == 422
    assert _count() == 0


def test_key_of_255_characters_is_accepted(api):
    assert _post(api, "k" * 255).status_code == 201


def test_expired_key_creates_a_new_notification(app, api):
    first = _post(api, "old").get_json()
    db.session.execute(
        db.update(IdempotencyKey).values(
            created_at=utcnow() - timedelta(seconds=app.config["IDEMPOTENCY_KEY_TTL_S"] + 1)
        )
    )
    db.session.commit()
    second = _post(api, "old")
    assert second.status_code == 201
    assert second.get_json()["id"] != first["id"]


def test_replay_survives_deleting_the_notification(api):
    first = _post(api, "gone").get_json()
    api.delete(f"/notifications/{first['id']}", 204)
    replay = _post(api, "gone")
    assert replay.get_json() == first
    assert _count() == 0


@postgres_only
def test_concurrent_requests_with_one_key_create_one_notification(app):
    user = UserFactory()
    clients = [ApiClient.login(app.test_client(), user.email, PASSWORD) for _ in range(8)]
    barrier = threading.Barrier(len(clients))
    responses = []

    def race(api):
        barrier.wait()
        responses.append(_post(api, "race-key"))

    threads = [threading.Thread(target=race, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(responses) == len(clients)
    assert {r.status_code for r in responses} <= {201, 409}
    created = [r.get_json()["id"] for r in responses if r.status_code == 201]
    assert len(set(created)) == 1
    assert (
        sum("Idempotent-Replayed" not in r.headers for r in responses if r.status_code == 201) == 1
    )
    db.session.expire_all()
    assert _count() == 1
