"""Waking idle dispatchers: `NOTIFY` on PostgreSQL, polling everywhere."""

from __future__ import annotations

from sqlalchemy import text

from notifier.extensions import db

CHANNEL = "notifier_due"


def notify_due() -> None:
    """Queue a wake-up for idle dispatchers; PostgreSQL delivers it at commit.

    Other databases have no `NOTIFY`: their dispatchers poll.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text(f"NOTIFY {CHANNEL}"))
