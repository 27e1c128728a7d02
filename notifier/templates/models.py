"""Template and TemplateVersion tables.

`templates` holds each template's current text (what GET and the list show);
`template_versions` holds every text it ever had, one row per version, never
changed and never deleted while the template exists, so that a notification's
`template_id` and `template_version` always name a text that can be read back.

A deleted template keeps its rows (`deleted_at` is set): it can no longer be
read or sent, and its id is never given to another template. Both tables are
AUTOINCREMENT on SQLite for the same reason (SQLite would otherwise reuse the
highest id after a delete, for example after a user's rows cascade away).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from notifier.database import BigId, UTCDateTime, utcnow
from notifier.extensions import db


class Template(db.Model):
    __tablename__ = "templates"
    __table_args__ = (
        CheckConstraint("channel IN ('email', 'sms', 'push')", name="channel"),
        CheckConstraint("version >= 1", name="version"),
        # The list (newest first) and the count behind the cap: live templates only.
        Index(
            "ix_templates_user_created",
            "user_id",
            "created_at",
            "id",
            postgresql_where=text("deleted_at IS NULL"),
            sqlite_where=text("deleted_at IS NULL"),
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(8))
    # The current version's text, with its placeholders (also in template_versions).
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TemplateVersion(db.Model):
    """One text a template had; written once, when `title` or `content` changed."""

    __tablename__ = "template_versions"
    __table_args__ = (
        Index("uq_template_versions_template_version", "template_id", "version", unique=True),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    template_id: Mapped[int] = mapped_column(BigId, ForeignKey("templates.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
