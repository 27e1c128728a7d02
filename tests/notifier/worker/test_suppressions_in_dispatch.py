"""The dispatcher and suppressions: a suppressed target is never sent to, and a
recipient the provider refuses is suppressed."""

from __future__ import annotations

import json

from notifier.database import utcnow
from notifier.extensions import db
from notifier.suppressions.models import Reason
from notifier.suppressions.service import add
from tests.dispatch_steps import dispatch_due
from tests.factories import NotificationFactory, UserFactory
from tests.notifier.worker.conftest import DELIVER, attempts_of, error_answer, reload, sent_answer
from tests.receipt_support import events_of, suppressions_of
from tests.webhook_support import PUBLIC_URL


def suppress(user_id: int, channel: str, target: str) -> None:
    with db.engine.begin() as connection:
        add(connection, user_id, channel, target, Reason.MANUAL)


def subscribe(user_id: int) -> None:
    from notifier.webhooks.models import Webhook

    db.session.add(Webhook(user_id=user_id, url=PUBLIC_URL, secret="whsec_x", enabled=True))
    db.session.commit()


def test_a_pending_notification_whose_target_became_suppressed_is_failed_not_sent(
    dispatcher, mocked
):
    user = UserFactory()
    subscribe(user.id)
    doomed = NotificationFactory(user_id=user.id, target="Gone@Example.com").id
    fine = NotificationFactory(user_id=user.id, target="here@example.com").id
    suppress(user.id, "email", "gone@example.com")
    mocked.post(DELIVER, json=sent_answer("p-1"))

    dispatch_due(dispatcher)

    [call] = mocked.calls
    assert json.loads(call.request.body)["notification_id"] == fine
    row = reload(doomed)
    assert row.status == "failed"
    assert row.error_message.startswith("Suppressed")
    assert row.attempts == 0
    assert row.lease_expires_at is None
    assert attempts_of(doomed) == []
    assert events_of(doomed) == ["notification.failed"]
    assert reload(fine).status == "sent"


def test_a_suppression_of_another_user_or_channel_does_not_stop_a_send(dispatcher, mocked):
    user = UserFactory()
    nid = NotificationFactory(user_id=user.id, target="a@example.com").id
    suppress(UserFactory().id, "email", "a@example.com")
    mocked.post(DELIVER, json=sent_answer("p-2"))

    dispatch_due(dispatcher)

    assert reload(nid).status == "sent"


def test_a_claim_with_only_suppressed_rows_sends_nothing(dispatcher, mocked):
    user = UserFactory()
    ids = [NotificationFactory(user_id=user.id, target="x@example.com").id for _ in range(3)]
    suppress(user.id, "email", "x@example.com")

    dispatch_due(dispatcher)

    assert len(mocked.calls) == 0
    assert {reload(nid).status for nid in ids} == {"failed"}


def _rejected(kind: str | None) -> dict:
    body = error_answer(422, "Unprocessable Entity", "550 5.1.1 No such user")
    if kind is not None:
        body["rejected"] = kind
    return body


def test_a_recipient_refused_by_the_provider_is_suppressed(dispatcher, mocked):
    user = UserFactory()
    nid = NotificationFactory(user_id=user.id, target="nobody@example.com").id
    mocked.post(DELIVER, status=422, json=_rejected("target"))

    dispatch_due(dispatcher)

    assert reload(nid).status == "failed"
    [entry] = suppressions_of(user.id)
    assert (entry.target, entry.reason, entry.notification_id) == (
        "nobody@example.com",
        "rejected",
        nid,
    )


def test_a_refused_message_or_an_unmarked_422_suppresses_nothing(dispatcher, mocked):
    user = UserFactory()
    NotificationFactory(user_id=user.id, target="a@example.com")
    NotificationFactory(user_id=user.id, target="b@example.com")
    mocked.post(DELIVER, status=422, json=_rejected("message"))
    mocked.post(DELIVER, status=422, json=_rejected(None))

    dispatch_due(dispatcher)

    assert suppressions_of(user.id) == []


def test_a_refused_sandbox_recipient_is_not_suppressed(dispatcher, mocked):
    user = UserFactory()
    NotificationFactory(user_id=user.id, sandbox=True)
    mocked.post(DELIVER, status=422, json=_rejected("target"))

    dispatch_due(dispatcher)

    assert suppressions_of(user.id) == []


def test_a_second_refusal_of_a_suppressed_recipient_keeps_one_entry(dispatcher, mocked):
    user = UserFactory()
    NotificationFactory(user_id=user.id, target="a@example.com", next_attempt_at=utcnow())
    NotificationFactory(user_id=user.id, target="A@example.com", next_attempt_at=utcnow())
    mocked.post(DELIVER, status=422, json=_rejected("target"))

    dispatch_due(dispatcher)

    assert len(suppressions_of(user.id)) == 1
