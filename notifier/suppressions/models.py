"""The `suppressions` table: one row per (user, channel, target) not to send to.

`target` is the normalised target as shown. Matching uses its key (an email
address lowercased, other targets as they are): `target_hash` (SHA-256 of the
key) makes (user, channel, target) unique, and `target_prefix` (the key's first
255 characters) is what the dispatcher's claim looks up, one probe of
`ix_suppressions_lookup` per claimed row (a device token may be 4 096
characters, too long for a PostgreSQL index entry).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from notifier.database import BigId, UTCDateTime, utcnow
from notifier.extensions import db
from notifier.notifications.lifecycle import sql_in


class Reason(StrEnum):
    """Why a target is suppressed."""

    MANUAL = "manual"  # added through POST /suppressions
    REJECTED = "rejected"  # the provider refused the recipient
    RECEIPT = "receipt"  # a permanent failed receipt
    UNSUBSCRIBE = "unsubscribe"  # the person clicked the one-click link


REASONS = tuple(Reason)


class Suppression(db.Model):
    __tablename__ = "suppressions"
    __table_args__ = (
        CheckConstraint(f"reason IN {sql_in(REASONS)}", name="reason"),
        CheckConstraint("channel IN ('email', 'sms', 'push')", name="channel"),
        Index(
            "uq_suppressions_user_channel_hash", "user_id", "channel", "target_hash", unique=True
        ),
        Index("ix_suppressions_lookup", "user_id", "channel", "target_prefix"),
        Index("ix_suppressions_user_created", "user_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(8))
    target: Mapped[str] = mapped_column(String(4096))
    target_prefix: Mapped[str] = mapped_column(String(255))
    target_hash: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(12))
    # The notification that caused it (NULL for manual ones); no key: it outlives it.
    notification_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
