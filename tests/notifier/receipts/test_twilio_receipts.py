"""POST /receipts/twilio: Twilio's signed status callbacks move the SMS they name, once.

Delivered, failed (a permanent error code suppresses the number), other statuses,
unknown, sandbox and email messages, repeats, and two callbacks racing for one message.
"""

from __future__ import annotations

import pytest

from tests.conftest import postgres_only
from tests.factories import UserFactory
from tests.locking import answer_after_commit
from tests.notifier.receipts.twilio_support import SID, callback, params, sms
from tests.receipt_support import events_of, row, sent_notification, suppressions_of
from tests.webhook_support import make_webhook

# Twilio's auth token and the public address, as the callbacks are signed with them.
pytestmark = pytest.mark.usefixtures("twilio")


def test_a_signed_delivered_callback_delivers_the_sms(client, user, api):
    make_webhook(api)
    nid = sms(user.id)

    response = callback(client, params("delivered"))

    assert response.status_code == 204
    assert row(nid).status == "delivered"
    assert row(nid).delivered_at is not None
    assert events_of(nid) == ["notification.delivered"]


def test_a_callback_naming_the_simulators_id_delivers_the_sms(client, user):
    # Without a Twilio account the simulator sends the SMS: its ids name them in receipts.
    from delivery.providers.base import new_message_id

    sid = new_message_id("sim")
    nid = sms(user.id, sid=sid)

    assert callback(client, params("delivered", sid=sid)).status_code == 204

    assert row(nid).status == "delivered"


@pytest.mark.parametrize("status", ["undelivered", "failed"])
def test_a_signed_failed_callback_fails_the_sms_naming_the_error_code(client, user, status):
    nid = sms(user.id)

    response = callback(client, params(status, ErrorCode="30008"))

    assert response.status_code == 204
    assert row(nid).status == "failed"
    assert "30008" in row(nid).error_message
    assert suppressions_of(user.id) == []  # 30008 is not permanent


@pytest.mark.parametrize("code", ["21211", "21610", "21612", "21614", "30003", "30005", "30006"])
def test_a_permanent_twilio_error_suppresses_the_number(client, user, code):
    nid = sms(user.id)

    callback(client, params("undelivered", ErrorCode=code))

    [entry] = suppressions_of(user.id)
    assert (entry.channel, entry.target, entry.reason) == ("sms", "+14155550100", "receipt")
    assert entry.notification_id == nid


@pytest.mark.parametrize("status", ["queued", "sending", "sent", "read", "accepted", "Delivered"])
def test_other_statuses_change_nothing(client, user, status):
    nid = sms(user.id)

    assert callback(client, params(status)).status_code == 204

    assert row(nid).status == "sent"


def test_a_callback_for_an_unknown_message_does_nothing(client, user):
    nid = sms(user.id)

    response = callback(client, params("delivered", sid="SM" + "f" * 32))

    assert response.status_code == 204
    assert row(nid).status == "sent"


def test_a_callback_never_touches_a_sandbox_or_email_notification(client, user):
    sandbox = sms(user.id, sandbox=True)
    email = sent_notification(user.id, "SM" + "e" * 32)

    callback(client, params("delivered"))
    callback(client, params("delivered", sid="SM" + "e" * 32))

    assert (row(sandbox).status, row(email).status) == ("sent", "sent")


def test_a_callback_for_another_accounts_message_moves_only_that_one(client, user):
    mine = sms(user.id)
    theirs = sms(UserFactory().id, sid="SM" + "1" * 32)

    callback(client, params("delivered", sid="SM" + "1" * 32))

    assert (row(mine).status, row(theirs).status) == ("sent", "delivered")


def test_a_repeated_callback_changes_nothing_and_writes_no_second_event(client, user, api):
    make_webhook(api)
    nid = sms(user.id)
    assert callback(client, params("delivered")).status_code == 204
    delivered_at = row(nid).delivered_at
    assert callback(client, params("delivered")).status_code == 204
    assert callback(client, params("undelivered", ErrorCode="30003")).status_code == 204
    assert row(nid).status == "delivered"
    assert row(nid).delivered_at == delivered_at
    assert events_of(nid) == ["notification.delivered"]
    assert suppressions_of(user.id) == []


def test_a_user_without_a_webhook_gets_the_receipt_and_no_event(client, user):
    nid = sms(user.id)
    assert callback(client, params("delivered")).status_code == 204
    assert row(nid).status == "delivered"
    assert events_of(nid) == []


@postgres_only
def test_a_callback_racing_another_for_the_same_message_moves_it_once(app, client, user, api):
    """The first receipt's transaction holds the row; the second waits for it, reads
    the row again (no longer sent) and changes nothing: one move, one event."""
    from notifier.database import utcnow
    from notifier.extensions import db
    from notifier.notifications.lifecycle import Status
    from notifier.notifications.lifecycle.receipts import apply_receipt, live_sms

    make_webhook(api)
    nid = sms(user.id)
    with db.engine.connect() as first:
        transaction = first.begin()
        assert apply_receipt(first, live_sms(SID), Status.DELIVERED, utcnow()) == nid
        answer = answer_after_commit(
            transaction,
            lambda: callback(app.test_client(), params("failed")).status_code,
            "the first callback's row lock",
        )
    assert answer == 204
    assert row(nid).status == "delivered"
    assert events_of(nid) == ["notification.delivered"]
