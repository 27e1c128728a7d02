"""POST /notifications: validation, normalisation and channel limits."""

import pytest

from notifier.extensions import db
from notifier.notifications.models import Notification

FIELDS = {
    "id",
    "user_id",
    "title",
    "content",
    "channel",
    "target",
    "status",
    "attempts",
    "scheduled_at",
    "sent_at",
    "delivered_at",
    "error_message",
    "provider_message_id",
    "sandbox",
    "api_key_id",
    "template_id",
    "template_version",
    "batch_id",
    "reference",
    "unsubscribe",
    "unsubscribe_url",
    "created_at",
    "updated_at",
}
PUSH_TOKEN = "dGhpcyBpcyBhIHB1c2ggdG9rZW4:APA91b-x_y.z" + "a" * 20


def _count() -> int:
    return db.session.query(Notification).count()


def test_create_answers_201_pending_with_location(api, user):
    response = api.create()
    body = response.get_json()
    assert response.headers["Location"] == f"/notifications/{body['id']}"
    assert set(body) == FIELDS
    assert body["user_id"] == user.id
    assert body["status"] == "pending"
    assert body["attempts"] == 0
    assert body["sent_at"] is None
    assert body["sandbox"] is False and body["api_key_id"] is None
    assert body["created_at"].endswith("+00:00")
    assert api.get(f"/notifications/{body['id']}").get_json() == body


@pytest.mark.parametrize(
    ("channel", "target", "stored"),
    [
        ("email", "Bob@EXAMPLE.com", "Bob@example.com"),
        ("email", "  carol@example.org ", "carol@example.org"),
        ("sms", "+1 (415) 555-2671", "+14155552671"),
        ("sms", "+44 7911 123456", "+447911123456"),
        ("push", PUSH_TOKEN, PUSH_TOKEN),
    ],
)
def test_targets_are_validated_and_normalised(api, channel, target, stored):
    body = api.create(channel=channel, target=target, content="Hi").get_json()
    assert body["target"] == stored


@pytest.mark.parametrize(
    ("channel", "target"),
    [
        ("email", "not-an-address"),
        ("email", "a@b"),
        ("sms", "4155552671"),
        ("sms", "+1415"),
        ("sms", "+19005550100"),
        ("sms", "call me"),
        ("push", "short"),
        ("push", "x" * 31),
        ("push", "x" * 4097),
        ("push", "x" * 40 + "/"),
    ],
)
def test_invalid_targets_are_422_naming_target(api, channel, target):
    response = api.create(expect=422, channel=channel, target=target)
    assert "target" in response.get_json()["errors"]["json"]
    assert _count() == 0


def test_premium_rate_numbers_are_refused_with_a_reason(api):
    body = api.create(expect=422, channel="sms", target="+19005550100").get_json()
    assert "premium" in body["message"].lower()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "two\nlines"}, "title"),
        ({"title": "carriage\rreturn"}, "title"),
        ({"content": ""}, "content"),
        ({"content": "x" * 5001}, "content"),
        ({"channel": "fax"}, "channel"),
        ({"channel": "EMAIL"}, "channel"),
        ({"title": 5}, "title"),
        ({"content": ["a"]}, "content"),
        ({"scheduled_at": "2030-01-01T10:00:00"}, "scheduled_at"),
        ({"scheduled_at": "tomorrow"}, "scheduled_at"),
        ({"scheduled_at": 1700000000}, "scheduled_at"),
        ({"priority": "high"}, "priority"),
        ({"status": "sent"}, "status"),
    ],
)
def test_invalid_fields_are_422_naming_the_field(api, fields, field):
    response = api.create(expect=422, **fields)
    assert field in response.get_json()["errors"]["json"]
    assert _count() == 0


def test_limits_are_inclusive(api):
    api.create(title="t" * 200, content="c" * 5000)


def test_title_is_trimmed(api):
    assert api.create(title="  Hello  ").get_json()["title"] == "Hello"


def test_sms_content_must_fit_ten_segments(api):
    api.create(channel="sms", target="+14155552671", content="a" * 1530)
    response = api.create(expect=422, channel="sms", target="+14155552671", content="a" * 1531)
    assert "content" in response.get_json()["errors"]["json"]
    # UCS-2: 10 segments of 67 code units.
    api.create(channel="sms", target="+14155552671", content="ж" * 670)
    api.create(expect=422, channel="sms", target="+14155552671", content="ж" * 671)


def test_push_payload_must_fit_4096_bytes(api):
    api.create(channel="push", target=PUSH_TOKEN, title="T", content="é" * 2000)
    response = api.create(
        expect=422, channel="push", target=PUSH_TOKEN, title="T" * 200, content="é" * 1990
    )
    assert "content" in response.get_json()["errors"]["json"]


def test_scheduled_at_is_stored_in_utc(api):
    body = api.create(scheduled_at="2030-01-01T12:00:00+02:00").get_json()
    assert body["scheduled_at"] == "2030-01-01T10:00:00+00:00"
    assert api.create(scheduled_at=None).get_json()["scheduled_at"] is None


def test_create_needs_a_token_before_validation(client):
    response = client.post("/notifications", json={"nonsense": True})
    assert response.status_code == 401
