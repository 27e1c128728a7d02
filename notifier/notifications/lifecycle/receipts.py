"""Receipts: sent → delivered, or sent → failed, as the provider reports later.

One compare-and-set UPDATE: a receipt moves a notification only while it is
`sent`; a late, repeated or out-of-order receipt (the notification is already
delivered, failed, or was edited and re-queued) matches nothing and changes
nothing. The webhook event (`notification.delivered` or `notification.failed`)
is written into the outbox in the same transaction, so it is announced exactly
when the change commits.

Which notification a receipt names is decided by the caller: `POST /receipts`
through `notifier.auth.ownership` (the caller's own, a test key's sandbox ones
only), Twilio's callback by the signed `MessageSid`; both hand the id here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from notifier.channels import SMS
from notifier.notifications.lifecycle import Status
from notifier.notifications.models import Notification
from notifier.webhooks.outbox import enqueue_notification_events, event_for_status

notifications = Notification.__table__
_n = notifications.c

RECEIPT_STATUSES = (Status.DELIVERED, Status.FAILED)


def apply_receipt(
    connection: Connection,
    notification_id: int,
    status: Status,
    now: datetime,
    error_message: str | None = None,
) -> bool:
    """sent → `status` (delivered or failed) for one notification; True when it moved.

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
        .where(_n.id == notification_id, _n.status == Status.SENT)
        .values(**values)
        .returning(_n.id)
    ).first()
    if moved is None:
        return False
    enqueue_notification_events(connection, {notification_id: event_for_status(status)})
    return True


# Twilio's `MessageStatus` words that end a message's journey, and what they mean
# here; every other word (queued, sending, sent, read...) changes nothing.
TWILIO_STATUSES = {
    "delivered": Status.DELIVERED,
    "undelivered": Status.FAILED,
    "failed": Status.FAILED,
}


def find_live_sms(connection: Connection, provider_message_id: str) -> int | None:
    """The id of the live sms notification Twilio knows as `provider_message_id`, locked.

    Sandbox notifications never reach Twilio, so no callback can name one.
    """
    return connection.execute(
        select(_n.id)
        .where(
            _n.provider_message_id == provider_message_id,
            _n.channel == SMS,
            _n.sandbox.is_(False),
        )
        .order_by(_n.id.desc())
        .limit(1)
        .with_for_update()
    ).scalar()
