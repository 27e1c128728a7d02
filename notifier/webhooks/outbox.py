"""The transactional outbox: webhook events written with the change that causes them.

The hooks here take the caller's `Connection`, inside the caller's transaction:
the event rows commit or roll back with the status change, so no change is ever
announced that did not happen, and none that happened is lost. Nothing is sent
from here; the worker's sender (`sender.py`) sends what this module writes.

- `event_for_status`: the event a notification's new status announces.
- `enqueue_notification_events(connection, {notification_id: event_type})`: for a
  batch of changed notifications (read back in the same transaction, so the
  payload is the row as it is at that change). One SELECT (which also finds out
  whether anyone listens: no subscribed webhook, no row read and no INSERT), then
  one INSERT ... SELECT for the whole batch.
- `enqueue_events(connection, [(event_type, notification_body), ...])`: the same
  from bodies the caller already has.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    Text,
    bindparam,
    column,
    exists,
    insert,
    literal,
    select,
    values,
)
from sqlalchemy.engine import Connection

from notifier.database import UTCDateTime, utcnow
from notifier.notifications.lifecycle import Status
from notifier.notifications.models import Notification
from notifier.notifications.schemas import BODY_FIELDS, body_from_values
from notifier.webhooks.models import (
    EVENT_BITS,
    TEST_EVENT,
    DeliveryStatus,
    Webhook,
    WebhookDelivery,
)
from notifier.webhooks.signing import new_event_id

notifications = Notification.__table__
webhooks = Webhook.__table__
deliveries = WebhookDelivery.__table__

# A notification's status after a recorded result -> the event that announces it.
# `pending` after a try means "failed, another try is scheduled".
EVENT_FOR_STATUS = {
    Status.SENT: "notification.sent",
    Status.FAILED: "notification.failed",
    Status.PENDING: "notification.retrying",
    Status.DELIVERED: "notification.delivered",  # a receipt (lifecycle.receipts)
}

_BODY_COLUMNS = tuple(notifications.c[name] for name in BODY_FIELDS)
_COLUMNS = (
    "webhook_id",
    "event_id",
    "event_type",
    "notification_id",
    "payload",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
)


def event_for_status(status: str) -> str:
    """The event type a notification's new status announces (KeyError for others)."""
    return EVENT_FOR_STATUS[status]


def serialize(event_type: str, timestamp: str, data: Mapping[str, Any]) -> str:
    """The request body: compact JSON, stored as is so that every try sends the same bytes."""
    payload = {"type": event_type, "timestamp": timestamp, "data": data}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def has_subscriber(user_id_column):
    """Whether the user in `user_id_column` has an enabled webhook (an EXISTS clause)."""
    return exists().where(webhooks.c.user_id == user_id_column, webhooks.c.enabled)


# Built once: the dispatcher's recorder runs it for every batch of results, and building
# a statement anew (then its cache key) cost more of its CPU than the query itself.
_SUBSCRIBED_BODIES = select(*_BODY_COLUMNS).where(
    notifications.c.id.in_(bindparam("ids", expanding=True)),
    has_subscriber(notifications.c.user_id),
)


def enqueue_notification_events(connection: Connection, changes: Mapping[int, str]) -> int:
    """Write the events of changed notifications (`{id: event type}`); return rows written.

    Call it after the UPDATE, in its transaction. Notifications that no longer
    exist, or whose user has no enabled webhook, cost nothing more than the one
    SELECT.
    """
    if not changes:
        return 0
    rows = connection.execute(_SUBSCRIBED_BODIES, {"ids": list(changes)}).all()
    events = [(changes[row.id], body_from_values(row)) for row in rows]
    return enqueue_events(connection, events)


def enqueue_events(connection: Connection, events: Sequence[tuple[str, Mapping[str, Any]]]) -> int:
    """One delivery per (event, enabled webhook of the notification's user subscribed to it).

    `events` are (event type, notification body as `GET /notifications/<id>`
    returns it). The event's `timestamp` is the change's time (`updated_at`).
    One INSERT ... SELECT joins the batch with the webhooks table, so the
    subscription is read at this moment, in this transaction.
    """
    if not events:
        return 0
    batch = values(
        column("user_id", BigInteger),
        column("event_id", String),
        column("event_type", String),
        column("notification_id", BigInteger),
        column("payload", Text),
        column("bit", Integer),
        name="events",
    ).data(
        [
            (
                body["user_id"],
                new_event_id(),
                event_type,
                body["id"],
                serialize(event_type, body["updated_at"], body),
                EVENT_BITS[event_type],
            )
            for event_type, body in events
        ]
    )
    batch = batch.cte("events")
    now = utcnow()
    rows = (
        select(
            webhooks.c.id,
            batch.c.event_id,
            batch.c.event_type,
            batch.c.notification_id,
            batch.c.payload,
            literal(DeliveryStatus.PENDING.value, String(10)),
            literal(0, Integer()),
            literal(now, UTCDateTime()),
            literal(now, UTCDateTime()),
        )
        .select_from(batch)
        .join(webhooks, webhooks.c.user_id == batch.c.user_id)
        .where(webhooks.c.enabled, webhooks.c.event_mask.op("&")(batch.c.bit) != 0)
    )
    return connection.execute(insert(deliveries).from_select(_COLUMNS, rows)).rowcount


def enqueue_test_event(connection: Connection, webhook_id: int, now: datetime | None = None):
    """A `webhook.test` delivery for one webhook, whatever its events; returns the row."""
    now = now or utcnow()
    return (
        connection.execute(
            insert(deliveries).returning(*deliveries.c),
            {
                "webhook_id": webhook_id,
                "event_id": new_event_id(),
                "event_type": TEST_EVENT,
                "notification_id": None,
                "payload": serialize(TEST_EVENT, now.isoformat(), {"webhook_id": webhook_id}),
                "status": DeliveryStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            },
        )
        .mappings()
        .one()
    )
