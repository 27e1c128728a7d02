"""Receipt and suppression test support: sent notifications, webhook events, rows."""

from __future__ import annotations

from sqlalchemy import select

from notifier.database import utcnow
from notifier.extensions import db
from notifier.notifications.models import Notification
from notifier.suppressions.models import Suppression
from notifier.webhooks.models import WebhookDelivery
from tests.factories import NotificationFactory


def sent_notification(user_id: int, provider_id: str = "prov-1", **fields) -> int:
    """A notification the provider accepted (status sent); its id."""
    values = {
        "user_id": user_id,
        "status": "sent",
        "attempts": 1,
        "sent_at": utcnow(),
        "provider_message_id": provider_id,
        **fields,
    }
    return NotificationFactory(**values).id


def row(notification_id: int) -> Notification:
    db.session.expire_all()
    return db.session.get(Notification, notification_id)


def events_of(notification_id: int) -> list[str]:
    """The webhook event types written for a notification, in order."""
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(WebhookDelivery.event_type)
            .where(WebhookDelivery.notification_id == notification_id)
            .order_by(WebhookDelivery.id)
        )
    )


def suppressions_of(user_id: int) -> list[Suppression]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Suppression).where(Suppression.user_id == user_id).order_by(Suppression.id)
        )
    )
