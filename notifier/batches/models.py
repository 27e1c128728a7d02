"""The Batch table: one bulk send of a template to many recipients.

A batch row holds what its notifications share (the template, its version, the
channel, the schedule); each recipient is one row of `notifications` with
`batch_id` set. The counts are not stored: they are read from the
notifications themselves (an indexed GROUP BY on `batch_id`), so they are
always current. `cancelled_at` is set once, by the batch's cancel.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, false, text
from sqlalchemy.orm import Mapped, mapped_column

from notifier.api_keys import models as _api_key_models  # noqa: F401 (the FK's table)
from notifier.database import BigId, UTCDateTime, utcnow
from notifier.extensions import db


class Batch(db.Model):
    __tablename__ = "batches"
    __table_args__ = (
        Index("ix_batches_user_created", "user_id", "created_at", "id"),
        Index(
            "ix_batches_api_key",
            "api_key_id",
            postgresql_where=text("api_key_id IS NOT NULL"),
            sqlite_where=text("api_key_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    # No foreign key, as on notifications: a template is only ever marked deleted.
    template_id: Mapped[int] = mapped_column(BigId)
    template_version: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(8))
    # Made with a test key: every notification of it is sandbox, and only test keys see it.
    sandbox: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    api_key_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("api_keys.id", ondelete="SET NULL")
    )
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
