"""POST /receipts: a caller's receipt moves its sent notification, and only that."""

from __future__ import annotations

import pytest

from tests.factories import NotificationFactory, UserFactory
from tests.receipt_support import events_of, row, sent_notification, suppressions_of
from tests.webhook_support import make_webhook


def test_a_delivered_receipt_makes_a_sent_notification_delivered(api, user):
    nid = sent_notification(user.id, "msg-1")

    body = api.post(
        "/receipts", 200, json={"provider_message_id": "msg-1", "status": "delivered"}
    ).get_json()

    assert body["id"] == nid
    assert body["status"] == "delivered"
    assert body["delivered_at"] is not None
    assert row(nid).status == "delivered"


def test_a_failed_receipt_fails_the_notification_with_its_reason(api, user):
    sent_notification(user.id, "msg-2")

    body = api.post(
        "/receipts",
        200,
        json={"provider_message_id": "msg-2", "status": "failed", "reason": "Mailbox full"},
    ).get_json()

    assert body["status"] == "failed"
    assert "Mailbox full" in body["error_message"]
    assert body["delivered_at"] is None


@pytest.mark.parametrize("status", ["pending", "failed", "delivered"])
def test_a_receipt_for_a_notification_not_sent_changes_nothing_and_succeeds(api, user, status):
    nid = sent_notification(user.id, "msg-3", status=status)
    before = row(nid)
    version, error = before.version, before.error_message

    body = api.post(
        "/receipts", 200, json={"provider_message_id": "msg-3", "status": "failed"}
    ).get_json()

    assert body["status"] == status
    after = row(nid)
    assert (after.status, after.version, after.error_message) == (status, version, error)
    assert suppressions_of(user.id) == []


def test_a_repeated_receipt_changes_nothing_the_second_time(api, user):
    make_webhook(api)
    nid = sent_notification(user.id, "msg-4")
    receipt = {"provider_message_id": "msg-4", "status": "delivered"}
    first = api.post("/receipts", 200, json=receipt).get_json()

    again = api.post("/receipts", 200, json={**receipt, "status": "failed"}).get_json()

    assert again["status"] == "delivered"
    assert again["delivered_at"] == first["delivered_at"]
    assert events_of(nid) == ["notification.delivered"]


def test_receipts_write_their_webhook_events(api, user):
    make_webhook(api)
    delivered = sent_notification(user.id, "msg-5")
    failed = sent_notification(user.id, "msg-6")

    api.post("/receipts", 200, json={"provider_message_id": "msg-5", "status": "delivered"})
    api.post("/receipts", 200, json={"provider_message_id": "msg-6", "status": "failed"})

    assert events_of(delivered) == ["notification.delivered"]
    assert events_of(failed) == ["notification.failed"]


def test_a_webhook_created_without_events_gets_all_four(api):
    body = make_webhook(api).get_json()

    assert sorted(body["events"]) == [
        "notification.delivered",
        "notification.failed",
        "notification.retrying",
        "notification.sent",
    ]


def test_a_webhook_subscribed_to_delivered_only_gets_no_failed_event(api, user):
    make_webhook(api, events=["notification.delivered"])
    nid = sent_notification(user.id, "msg-7")

    api.post("/receipts", 200, json={"provider_message_id": "msg-7", "status": "failed"})

    assert events_of(nid) == []


def test_a_receipt_for_another_users_notification_is_404(api, other_api, user):
    nid = sent_notification(UserFactory().id, "msg-8")

    response = api.post(
        "/receipts", 404, json={"provider_message_id": "msg-8", "status": "delivered"}
    )

    assert response.get_json()["code"] == 404
    assert row(nid).status == "sent"


def test_an_unknown_provider_message_id_is_404(api):
    api.post("/receipts", 404, json={"provider_message_id": "nope", "status": "delivered"})


def test_a_permanent_failed_receipt_suppresses_a_live_target(api, user):
    nid = sent_notification(user.id, "msg-9", target="Bounce@Example.com")

    api.post("/receipts", 200, json={"provider_message_id": "msg-9", "status": "failed"})

    [entry] = suppressions_of(user.id)
    assert (entry.channel, entry.target, entry.reason) == ("email", "Bounce@Example.com", "receipt")
    assert entry.notification_id == nid
    refused = api.create(422, target="bounce@example.com").get_json()
    assert "suppressed" in refused["errors"]["json"]["target"][0]


def test_a_temporary_failed_receipt_suppresses_nothing(api, user):
    sent_notification(user.id, "msg-10")

    api.post(
        "/receipts",
        200,
        json={"provider_message_id": "msg-10", "status": "failed", "permanent": False},
    )

    assert suppressions_of(user.id) == []


def test_a_failed_receipt_of_a_sandbox_notification_suppresses_nothing(api, user):
    sent_notification(user.id, "msg-11", sandbox=True)

    api.post("/receipts", 200, json={"provider_message_id": "msg-11", "status": "failed"})

    assert suppressions_of(user.id) == []


def test_a_test_key_cannot_name_a_live_notification(make_key, user):
    test_key, _ = make_key(mode="test")
    live = sent_notification(user.id, "msg-12")
    sandbox = sent_notification(user.id, "msg-13", sandbox=True)

    test_key.post("/receipts", 404, json={"provider_message_id": "msg-12", "status": "failed"})
    test_key.post("/receipts", 200, json={"provider_message_id": "msg-13", "status": "delivered"})

    assert row(live).status == "sent"
    assert row(sandbox).status == "delivered"


def test_a_key_needs_the_write_scope(make_key, user):
    reader, _ = make_key(scopes=["notifications:read"])
    sent_notification(user.id, "msg-14")

    reader.post("/receipts", 403, json={"provider_message_id": "msg-14", "status": "delivered"})


@pytest.mark.parametrize(
    "body",
    [
        {"provider_message_id": "x", "status": "sent"},
        {"provider_message_id": "x", "status": "delivered", "reason": "r" * 501},
        {"status": "delivered"},
        {"provider_message_id": "", "status": "delivered"},
        {"provider_message_id": "x\x00y", "status": "delivered"},
        {"provider_message_id": "x", "status": "failed", "permanent": "maybe"},
    ],
)
def test_a_malformed_receipt_is_422(api, user, body):
    nid = sent_notification(user.id, "x")

    api.post("/receipts", 422, json=body)

    assert row(nid).status == "sent"


def test_the_newest_of_two_notifications_with_one_provider_id_takes_the_receipt(api, user):
    older = NotificationFactory(user_id=user.id, status="failed", provider_message_id="dup").id
    newer = sent_notification(user.id, "dup")

    api.post("/receipts", 200, json={"provider_message_id": "dup", "status": "delivered"})

    assert (row(older).status, row(newer).status) == ("failed", "delivered")
