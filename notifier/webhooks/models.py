"""Webhook and WebhookDelivery tables.

A webhook keeps its signing secret in clear: it must be read back to sign every
request (an HMAC key cannot be stored as a hash). After a rotation the previous
secret is kept, with its expiry, so that receivers can switch over.

A delivery row is both the transactional outbox (written in the transaction of
the status change that causes it) and the delivery log the API shows. Claiming
follows `notifier.claims`: a claimed row stays `pending`, its `next_attempt_at`
moves to the end of its lease, so a row whose sender died is simply due again.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from notifier.database import BigId, UTCDateTime, utcnow
from notifier.extensions import db

# Bit of each event type in `webhooks.event_mask`: a subscription test is one AND in SQL,
# the same on PostgreSQL and SQLite.
EVENT_BITS = {
    "notification.sent": 1,
    "notification.failed": 2,
    "notification.retrying": 4,
    "notification.delivered": 8,
}
EVENT_TYPES = tuple(EVENT_BITS)
TEST_EVENT = "webhook.test"
ALL_EVENTS_MASK = sum(EVENT_BITS.values())


class DeliveryStatus(StrEnum):
    """Where a webhook delivery is (the `status` column of `webhook_deliveries`).

    The webhook deliveries' own small state machine: pending → delivered, or
    pending → failed (see `delivery_queue`). This module owns the words; the other
    modules name a state through this enum.
    """

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


DELIVERY_STATUSES = tuple(DeliveryStatus)
# The error of deliveries stopped because their webhook was disabled.
DISABLED_ERROR = "The webhook was disabled before this event was delivered."


class Webhook(db.Model):
    __tablename__ = "webhooks"
    __table_args__ = (
        CheckConstraint(f"event_mask BETWEEN 1 AND {ALL_EVENTS_MASK}", name="event_mask"),
        # The list (newest first) and the outbox's lookup of a user's enabled webhooks.
        Index("ix_webhooks_user_created", "user_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    event_mask: Mapped[int] = mapped_column(Integer, default=ALL_EVENTS_MASK)
    description: Mapped[str | None] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    secret: Mapped[str] = mapped_column(String(64))
    previous_secret: Mapped[str | None] = mapped_column(String(64))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(db.Model):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(f"status IN {DELIVERY_STATUSES!r}", name="status"),
        # The log: one webhook's rows, newest first, optionally by status.
        Index("ix_webhook_deliveries_webhook_created", "webhook_id", "created_at", "id"),
        Index(
            "ix_webhook_deliveries_webhook_status_created",
            "webhook_id",
            "status",
            "created_at",
            "id",
        ),
        # The sender's claim: due pending rows (expired leases included, see models docstring).
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text(f"status = '{DeliveryStatus.PENDING}'"),
            sqlite_where=text(f"status = '{DeliveryStatus.PENDING}'"),
        ),
        # The purge.
        Index("ix_webhook_deliveries_created", "created_at"),
        # A notification's deliveries (the console's timeline); test events have none.
        Index(
            "ix_webhook_deliveries_notification",
            "notification_id",
            postgresql_where=text("notification_id IS NOT NULL"),
            sqlite_where=text("notification_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(BigId, ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(32))
    # No foreign key: the log outlives a deleted notification.
    notification_id: Mapped[int | None] = mapped_column(BigInteger)
    # The exact bytes that are signed and sent, the same on every try.
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    http_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
