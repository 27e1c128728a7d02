"""The `api_keys` table: one row per key, holding its hash, never the key.

A key's attributes never change after it is created (there is no edit route):
`notifier.api_keys.credentials` may therefore remember them per process, while
whether the key still exists is read from the database on every request.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from notifier.database import BigId, UTCDateTime, utcnow
from notifier.extensions import db

MODES = ("live", "test")
# Bit of each scope in `api_keys.scope_mask`, as webhooks store their events.
SCOPE_BITS = {
    "notifications:send": 1,
    "notifications:read": 2,
    "notifications:write": 4,
    "templates:read": 8,
}
SCOPES = tuple(SCOPE_BITS)
# A key made without `scopes` gets these; the others are opt-in.
DEFAULT_SCOPES = ("notifications:send", "notifications:read", "notifications:write")
ALL_SCOPES_MASK = sum(SCOPE_BITS.values())


def scope_mask(scopes) -> int:
    mask = 0
    for scope in scopes:
        mask |= SCOPE_BITS[scope]
    return mask


def scopes_of(mask: int) -> list[str]:
    """The scopes of a mask, in the canonical order of SCOPES."""
    return [scope for scope, bit in SCOPE_BITS.items() if mask & bit]


class ApiKey(db.Model):
    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(f"mode IN {MODES!r}", name="mode"),
        CheckConstraint(f"scope_mask BETWEEN 1 AND {ALL_SCOPES_MASK}", name="scope_mask"),
        # The list, newest first (and the count behind the limit per user).
        Index("ix_api_keys_user_created", "user_id", "created_at", "id"),
        # Every request with a key the process has not seen yet finds it here.
        Index("uq_api_keys_key_hash", "key_hash", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Deleting the user deletes their keys: a key of a deleted user does not exist.
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    # Hex SHA-256 of the whole key (see notifier.api_keys.credentials.key_hash).
    key_hash: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(4))
    scope_mask: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
