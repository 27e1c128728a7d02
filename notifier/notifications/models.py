"""Notification, DeliveryAttempt and IdempotencyKey tables.

The notification row is also the dispatcher's queue entry: `status`,
`next_attempt_at` and `lease_expires_at` drive claiming, `version` makes edits,
deletes and delivery results compare-and-set, and `delivery_key` is the
idempotency key sent to the provider (new after every edit).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from notifier.api_keys import models as _api_key_models  # noqa: F401 (the FK's table)
from notifier.batches import models as _batch_models  # noqa: F401 (the FK's table)
from notifier.database import BigId, UTCDateTime, utcnow
from notifier.extensions import db
from notifier.notifications.lifecycle import (
    EDITABLE_STATUSES as EDITABLE_STATUSES,  # re-exported: the API service imports it from here
)
from notifier.notifications.lifecycle import OUTCOMES, STATUSES, Status, sql_in


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(f"status IN {sql_in(STATUSES)}", name="status"),
        CheckConstraint("channel IN ('email', 'sms', 'push')", name="channel"),
        # The list: one user's rows, newest first, optionally by status or channel.
        Index("ix_notifications_user_created", "user_id", "created_at", "id"),
        Index("ix_notifications_user_status_created", "user_id", "status", "created_at", "id"),
        Index("ix_notifications_user_channel_created", "user_id", "channel", "created_at", "id"),
        # The list of test notifications: few among many live ones, so only they are indexed.
        Index(
            "ix_notifications_user_sandbox_created",
            "user_id",
            "created_at",
            "id",
            postgresql_where=text("sandbox"),
            sqlite_where=text("sandbox"),
        ),
        # The list's template_id and reference filters: only rows that have one are indexed.
        Index(
            "ix_notifications_user_template_created",
            "user_id",
            "template_id",
            "created_at",
            "id",
            postgresql_where=text("template_id IS NOT NULL"),
            sqlite_where=text("template_id IS NOT NULL"),
        ),
        Index(
            "ix_notifications_user_reference_created",
            "user_id",
            "reference",
            "created_at",
            "id",
            postgresql_where=text("reference IS NOT NULL"),
            sqlite_where=text("reference IS NOT NULL"),
        ),
        # A batch's counts and cancel (by status), and the list filter `batch_id`.
        Index(
            "ix_notifications_batch_status",
            "batch_id",
            "status",
            postgresql_where=text("batch_id IS NOT NULL"),
            sqlite_where=text("batch_id IS NOT NULL"),
        ),
        Index(
            "ix_notifications_user_batch_created",
            "user_id",
            "batch_id",
            "created_at",
            "id",
            postgresql_where=text("batch_id IS NOT NULL"),
            sqlite_where=text("batch_id IS NOT NULL"),
        ),
        # Deleting a key sets its notifications' api_key_id to NULL: found here, not by a scan.
        Index(
            "ix_notifications_api_key",
            "api_key_id",
            postgresql_where=text("api_key_id IS NOT NULL"),
            sqlite_where=text("api_key_id IS NOT NULL"),
        ),
        # The dispatcher: due pending rows, and expired leases.
        Index(
            "ix_notifications_due",
            "next_attempt_at",
            postgresql_where=text(f"status = '{Status.PENDING}'"),
            sqlite_where=text(f"status = '{Status.PENDING}'"),
        ),
        # Receipts find a notification by the provider's message id.
        Index(
            "ix_notifications_provider_message_id",
            "provider_message_id",
            postgresql_where=text("provider_message_id IS NOT NULL"),
            sqlite_where=text("provider_message_id IS NOT NULL"),
        ),
        Index(
            "ix_notifications_lease",
            "lease_expires_at",
            postgresql_where=text(f"status = '{Status.SENDING}'"),
            sqlite_where=text(f"status = '{Status.SENDING}'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(8))
    target: Mapped[str] = mapped_column(String(4096))
    status: Mapped[str] = mapped_column(String(16), default=Status.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    delivery_key: Mapped[str] = mapped_column(String(32))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When a receipt said it reached the person (status `delivered`).
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error_message: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(255))
    # Created with a test key: delivered by the simulator only, whatever the providers.
    sandbox: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The key that created it (NULL for an access token, or once the key is deleted).
    api_key_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("api_keys.id", ondelete="SET NULL")
    )
    # The template and version its text was rendered from (NULL when sent without one).
    # No foreign key: a template is never deleted while its user exists (it is only
    # marked deleted), and a key would lock the template's row on every send.
    template_id: Mapped[int | None] = mapped_column(BigId)
    template_version: Mapped[int | None] = mapped_column(Integer)
    # Asked for a one-click unsubscribe link (used for email when PUBLIC_BASE_URL is set).
    unsubscribe: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The caller's own id for it, not unique.
    reference: Mapped[str | None] = mapped_column(String(255))
    # The batch it was sent in (NULL when sent alone; SET NULL if a batch row goes).
    batch_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("batches.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotificationCount(db.Model):
    """How many notifications each user has, per status, channel and sandbox.

    Kept by database triggers (migrations 0002 and 0006) on every insert, delete
    and status or channel change, so the total behind `X-Pagination` costs a few
    primary-key rows instead of a count over all of a user's notifications.
    There is no foreign key: rows may outlive a deleted user, at zero.
    """

    __tablename__ = "notification_counts"

    user_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    channel: Mapped[str] = mapped_column(String(8), primary_key=True)
    sandbox: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default=false())
    total: Mapped[int] = mapped_column(BigInteger, default=0)


class DeliveryAttempt(db.Model):
    """One try to hand a notification to the delivery service."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (
        CheckConstraint(f"outcome IN {sql_in(OUTCOMES)}", name="outcome"),
        Index("ix_delivery_attempts_notification", "notification_id", "number"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("notifications.id", ondelete="CASCADE")
    )
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(12))
    http_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(255))
    duration_ms: Mapped[int] = mapped_column(Integer)


class IdempotencyKey(db.Model):
    """The first answer to a `POST /notifications` with an `Idempotency-Key`.

    The unique (user_id, key) constraint is what makes two racing requests
    create one notification: the loser's insert fails and it replays.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("uq_idempotency_keys_user_key", "user_id", "key", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    notification_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("notifications.id", ondelete="SET NULL")
    )
    response_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
