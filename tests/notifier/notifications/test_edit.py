"""GET/PUT/PATCH/DELETE one notification and its attempts; 404 and 409 rules."""

import pytest

from notifier.extensions import db
from notifier.notifications.models import DeliveryAttempt, Notification
from tests.factories import DeliveryAttemptFactory, NotificationFactory

FULL = {
    "title": "New title",
    "content": "New content",
    "channel": "sms",
    "target": "+14155552671",
}


@pytest.fixture
def notification(api):
    return api.create(scheduled_at="2030-01-01T00:00:00+00:00").get_json()


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("PUT", "", FULL),
        ("PATCH", "", {"title": "x"}),
        ("DELETE", "", None),
        ("GET", "/attempts", None),
    ],
)
def test_another_users_notification_is_404_on_every_route(
    other_api, notification, method, suffix, body
):
    response = other_api.request(method, f"/notifications/{notification['id']}{suffix}", json=body)
    assert response.status_code == 404
    assert response.get_json()["message"] == "Notification not found."
    assert db.session.get(Notification, notification["id"]).title == "Hello"


@pytest.mark.parametrize("bad_id", ["abc", "-1", "0", "12345678901234567890123456", "1.5", "%00"])
@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_ids_that_are_not_positive_integers_are_404(api, bad_id, method):
    response = api.request(method, f"/notifications/{bad_id}", json=FULL)
    assert response.status_code == 404
    assert response.get_json()["code"] == 404


def test_put_replaces_every_field_and_clears_the_schedule(api, notification):
    body = api.put(f"/notifications/{notification['id']}", 200, json=FULL).get_json()
    assert {k: body[k] for k in FULL} == FULL
    assert body["scheduled_at"] is None
    assert body["updated_at"] > notification["updated_at"]


def test_put_needs_all_fields(api, notification):
    response = api.put(f"/notifications/{notification['id']}", 422, json={"title": "x"})
    assert set(response.get_json()["errors"]["json"]) == {"content", "channel", "target"}


def test_patch_changes_only_the_given_fields(api, notification):
    body = api.patch(f"/notifications/{notification['id']}", 200, json={"title": "Only"}).get_json()
    assert body["title"] == "Only"
    assert body["content"] == notification["content"]
    assert body["scheduled_at"] == notification["scheduled_at"]


def test_patch_of_channel_alone_rechecks_the_stored_target(api, notification):
    response = api.patch(f"/notifications/{notification['id']}", 422, json={"channel": "sms"})
    assert "target" in response.get_json()["errors"]["json"]
    assert db.session.get(Notification, notification["id"]).channel == "email"


def test_patch_rechecks_channel_limits_on_the_merged_result(api):
    sms = api.create(channel="sms", target="+14155552671", content="short").get_json()
    response = api.patch(f"/notifications/{sms['id']}", 422, json={"content": "x" * 1531})
    assert "content" in response.get_json()["errors"]["json"]


def test_patch_with_unknown_field_is_422(api, notification):
    api.patch(f"/notifications/{notification['id']}", 422, json={"status": "sent"})


@pytest.mark.parametrize("status", ["sending", "sent"])
@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_editing_a_sending_or_sent_notification_is_409(api, user, status, method):
    existing = NotificationFactory(user_id=user.id, status=status)
    response = api.request(method, f"/notifications/{existing.id}", json=FULL)
    assert response.status_code == 409
    assert status in response.get_json()["message"]
    db.session.expire_all()
    assert db.session.get(Notification, existing.id).title == existing.title


def test_editing_a_failed_notification_requeues_it_with_attempts_reset(api, user):
    failed = NotificationFactory(
        user_id=user.id, status="failed", attempts=5, error_message="Provider rejected"
    )
    old_key = failed.delivery_key
    body = api.patch(
        f"/notifications/{failed.id}", 200, json={"target": "fixed@example.com"}
    ).get_json()
    assert body["status"] == "pending"
    assert body["attempts"] == 0
    assert body["error_message"] is None
    db.session.expire_all()
    assert db.session.get(Notification, failed.id).delivery_key != old_key


def test_every_edit_changes_the_delivery_key(api, notification):
    before = db.session.get(Notification, notification["id"]).delivery_key
    api.patch(f"/notifications/{notification['id']}", 200, json={"content": "v2"})
    db.session.expire_all()
    assert db.session.get(Notification, notification["id"]).delivery_key != before


def test_empty_patch_changes_nothing(api, notification):
    body = api.patch(f"/notifications/{notification['id']}", 200, json={}).get_json()
    assert body == notification


def test_edit_that_lost_a_race_with_a_claim_is_409(api, notification, monkeypatch):
    """The compare-and-set sees the version the dispatcher bumped."""
    from notifier.notifications import queries

    real_owned = queries.owned_row

    def owned_then_claimed(notification_id):
        row = real_owned(notification_id)
        db.session.execute(
            db.update(Notification)
            .where(Notification.id == notification_id)
            .values(status="sending", version=Notification.version + 1)
        )
        db.session.commit()
        monkeypatch.setattr(queries, "owned_row", real_owned)
        return row

    monkeypatch.setattr(queries, "owned_row", owned_then_claimed)
    response = api.patch(f"/notifications/{notification['id']}", 409, json={"title": "late"})
    assert "sending" in response.get_json()["message"]
    db.session.expire_all()
    assert db.session.get(Notification, notification["id"]).title == "Hello"


def test_delete_removes_the_notification_and_its_attempts(api, user):
    existing = NotificationFactory(user_id=user.id, status="failed")
    DeliveryAttemptFactory(notification_id=existing.id)
    api.delete(f"/notifications/{existing.id}", 204)
    api.get(f"/notifications/{existing.id}", 404)
    api.delete(f"/notifications/{existing.id}", 404)
    assert db.session.query(DeliveryAttempt).count() == 0


def test_attempts_are_listed_oldest_first(api, user):
    existing = NotificationFactory(user_id=user.id, status="pending", attempts=2)
    DeliveryAttemptFactory(notification_id=existing.id, number=2, outcome="sent", http_status=200)
    DeliveryAttemptFactory(notification_id=existing.id, number=1)
    body = api.get(f"/notifications/{existing.id}/attempts").get_json()
    assert [a["number"] for a in body] == [1, 2]
    assert set(body[0]) == {
        "number",
        "started_at",
        "finished_at",
        "outcome",
        "http_status",
        "error",
        "provider_message_id",
        "duration_ms",
    }
    assert body[0]["started_at"].endswith("+00:00")


def test_new_notification_has_no_attempts(api, notification):
    assert api.get(f"/notifications/{notification['id']}/attempts").get_json() == []
