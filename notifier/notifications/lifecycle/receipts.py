"""Receipts: sent → delivered, or sent → failed, as the provider reports later.

One compare-and-set UPDATE: a receipt moves a notification only while it is
`sent`; a late, repeated or out-of-order receipt (the notification is already
delivered, failed, or was edited and re-queued) matches nothing and changes
nothing. The webhook event (`notification.delivered` or `notification.failed`)
is written into the outbox in the same transaction, so it is announced exactly
when the change commits.

Which notification a receipt names is decided by the caller: `POST /receipts`
through `notifier.auth.ownership` (the caller's own, a test key's sandbox ones
only) hands its id here; Twilio's callback names it by the signed `MessageSid`
(`live_sms`), found inside the UPDATE itself. The UPDATE also says whether the
user has a webhook, so a user without one costs no outbox query: a receipt is
the UPDATE and its commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import ScalarSelect

from notifier.channels import SMS
from notifier.notifications.lifecycle import Status
from notifier.notifications.models import Notification
from notifier.webhooks.outbox import enqueue_notification_events, event_for_status, has_subscriber

notifications = Notification.__table__
_n = notifications.c

RECEIPT_STATUSES = (Status.DELIVERED, Status.FAILED)


def apply_receipt(
    connection: Connection,
    notification: int | ScalarSelect,
    status: Status,
    now: datetime,
    error_message: str | None = None,
) -> int | None:
    """sent → `status` (delivered or failed) for one notification: its id, or a
    query for it (`live_sms`); the id when it moved, else None.

    Runs in the caller's transaction, which also writes the webhook event.
    """
    if status not in RECEIPT_STATUSES:
        raise ValueError(f"a receipt cannot set {status!r}")
    values = {"status": status, "version": _n.version + 1, "updated_at": now}
    if status == Status.DELIVERED:
        values["delivered_at"] = now
    else:
        values["error_message"] = error_message
    moved = connection.execute(
        update(notifications)
        .where(_n.id == notification, _n.status == Status.SENT)
        .values(**values)
        .returning(_n.id, has_subscriber(_n.user_id).label("listened"))
    ).first()
    if moved is None:
        return None
    if moved.listened:
        enqueue_notification_events(connection, {moved.id: event_for_status(status)})
    return moved.id


# Twilio's `MessageStatus` words that end a message's journey, and what they mean
# here; every other word (queued, sending, sent, read...) changes nothing.
TWILIO_STATUSES = {
    "delivered": Status.DELIVERED,
    "undelivered": Status.FAILED,
    "failed": Status.FAILED,
}


def live_sms(provider_message_id: str) -> ScalarSelect:
    """The newest live sms notification Twilio knows as `provider_message_id`, as a
    subquery for `apply_receipt`.

    Sandbox notifications never reach Twilio, so no callback can name one. Two
    callbacks racing for one row both find it; the UPDATE's `status = 'sent'`
    lets the first one move it and the second (which waits for the first's row
    lock, then reads the row again) match nothing.
    """
    return (
        select(_n.id)
        .where(
            _n.provider_message_id == provider_message_id,
            _n.channel == SMS,
            _n.sandbox.is_(False),
        )
        .order_by(_n.id.desc())
        .limit(1)
        .scalar_subquery()
    )
