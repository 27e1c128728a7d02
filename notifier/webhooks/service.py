"""Webhook use cases: register, list, read, change, delete, rotate, test, the log.

Every function takes the caller's user id: a webhook of another user is not
found, exactly like one that does not exist. Deliveries are the outbox's rows
(`outbox.py`); this module only reads them, enqueues the test event and fails
the pending ones of a webhook that is disabled.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from notifier import caps
from notifier.database import transaction, utcnow
from notifier.errors import not_found
from notifier.extensions import db
from notifier.webhooks import outbox
from notifier.webhooks.models import (
    ALL_EVENTS_MASK,
    DISABLED_ERROR,
    EVENT_BITS,
    DeliveryStatus,
    Webhook,
    WebhookDelivery,
)
from notifier.webhooks.signing import new_secret

NOT_FOUND = "Webhook not found."
# How long the replaced secret still signs requests after `rotate-secret`.
PREVIOUS_SECRET_TTL = timedelta(hours=24)


def event_mask(events: list[str] | None) -> int:
    if events is None:
        return ALL_EVENTS_MASK
    mask = 0
    for event in events:
        mask |= EVENT_BITS[event]
    return mask


def events_of(mask: int) -> list[str]:
    return [event for event, bit in EVENT_BITS.items() if mask & bit]


def webhook_body(webhook: Webhook, with_secret: bool = False) -> dict[str, Any]:
    body = {
        "id": webhook.id,
        "url": webhook.url,
        "events": events_of(webhook.event_mask),
        "description": webhook.description,
        "enabled": webhook.enabled,
        "created_at": webhook.created_at,
        "updated_at": webhook.updated_at,
    }
    if with_secret:
        body["secret"] = webhook.secret
    return body


def _owned(user_id: int, webhook_id: int, lock: bool = False) -> Webhook:
    statement = select(Webhook).where(Webhook.id == webhook_id, Webhook.user_id == user_id)
    if lock:
        statement = statement.with_for_update()
    webhook = db.session.scalars(statement).first()
    if webhook is None:
        raise not_found(NOT_FOUND)
    return webhook


def create_webhook(user_id: int, data: dict) -> dict[str, Any]:
    with transaction():
        caps.ensure_room(caps.WEBHOOKS, user_id, Webhook.user_id)
        now = utcnow()
        webhook = Webhook(
            user_id=user_id,
            url=data["url"],
            event_mask=event_mask(data.get("events")),
            description=data.get("description"),
            enabled=True,
            secret=new_secret(),
            created_at=now,
            updated_at=now,
        )
        db.session.add(webhook)
        db.session.flush()
    return webhook_body(webhook, with_secret=True)


def list_webhooks(user_id: int) -> list[dict[str, Any]]:
    webhooks = db.session.scalars(
        select(Webhook)
        .where(Webhook.user_id == user_id)
        .order_by(Webhook.created_at.desc(), Webhook.id.desc())
    )
    bodies = [webhook_body(webhook) for webhook in webhooks]
    db.session.commit()  # end the read's transaction
    return bodies


def get_webhook(user_id: int, webhook_id: int) -> dict[str, Any]:
    with transaction():
        return webhook_body(_owned(user_id, webhook_id))


def update_webhook(user_id: int, webhook_id: int, data: dict) -> dict[str, Any]:
    with transaction():
        webhook = _owned(user_id, webhook_id, lock=True)
        if "url" in data:
            webhook.url = data["url"]
        if "events" in data:
            webhook.event_mask = event_mask(data["events"])
        if "description" in data:
            webhook.description = data["description"]
        if "enabled" in data:
            if webhook.enabled and not data["enabled"]:
                _fail_pending(webhook.id)
            webhook.enabled = data["enabled"]
        webhook.updated_at = utcnow()
    return webhook_body(webhook)


def _fail_pending(webhook_id: int) -> None:
    """Disabling stops what waits: pending deliveries fail (the sender checks too)."""
    deliveries = WebhookDelivery.__table__
    db.session.execute(
        update(deliveries)
        .where(deliveries.c.webhook_id == webhook_id, deliveries.c.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.FAILED, error=DISABLED_ERROR, lease_expires_at=None)
    )


def delete_webhook(user_id: int, webhook_id: int) -> None:
    """Its deliveries go with it (ON DELETE CASCADE): nothing more is sent to it."""
    with transaction():
        db.session.delete(_owned(user_id, webhook_id, lock=True))


def rotate_secret(user_id: int, webhook_id: int) -> dict[str, Any]:
    with transaction():
        webhook = _owned(user_id, webhook_id, lock=True)
        now = utcnow()
        webhook.previous_secret = webhook.secret
        webhook.previous_secret_expires_at = now + PREVIOUS_SECRET_TTL
        webhook.secret = new_secret()
        webhook.updated_at = now
    return webhook_body(webhook, with_secret=True)


def send_test(user_id: int, webhook_id: int) -> dict[str, Any]:
    with transaction():
        webhook = _owned(user_id, webhook_id)
        row = outbox.enqueue_test_event(db.session.connection(), webhook.id)
    return delivery_body(row)


def list_deliveries(
    user_id: int, webhook_id: int, filters: dict, page: int, page_size: int
) -> tuple[list[dict[str, Any]], int]:
    deliveries = WebhookDelivery.__table__
    with transaction():
        _owned(user_id, webhook_id)
        conditions = [deliveries.c.webhook_id == webhook_id]
        if "status" in filters:
            conditions.append(deliveries.c.status == filters["status"])
        total = db.session.scalar(select(func.count()).select_from(deliveries).where(*conditions))
        rows = db.session.execute(
            select(deliveries)
            .where(*conditions)
            .order_by(deliveries.c.created_at.desc(), deliveries.c.id.desc())
            .limit(page_size)
            .offset((page - 1) * page_size)
        ).mappings()
        return [delivery_body(row) for row in rows], total


DELIVERY_FIELDS = (
    "id",
    "event_id",
    "event_type",
    "notification_id",
    "status",
    "attempts",
    "http_status",
    "error",
    "created_at",
    "next_attempt_at",
    "delivered_at",
    "duration_ms",
)


def delivery_body(row) -> dict[str, Any]:
    return {name: row[name] for name in DELIVERY_FIELDS}


def deliveries_for_notification(user_id: int, notification_id: int) -> list[dict[str, Any]]:
    """The caller's webhook deliveries about one notification, oldest first (the console's
    timeline); each with its webhook's id and url."""
    deliveries = WebhookDelivery.__table__
    webhooks = Webhook.__table__
    with transaction():
        rows = db.session.execute(
            select(deliveries, webhooks.c.url.label("webhook_url"))
            .join(webhooks, webhooks.c.id == deliveries.c.webhook_id)
            .where(webhooks.c.user_id == user_id, deliveries.c.notification_id == notification_id)
            .order_by(deliveries.c.created_at, deliveries.c.id)
        ).mappings()
        return [
            delivery_body(row)
            | {"webhook_id": row["webhook_id"], "webhook_url": row["webhook_url"]}
            for row in rows
        ]
