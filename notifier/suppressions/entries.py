"""Writing suppression entries: the one idempotent INSERT and the automatic entries.

`add` is idempotent: the unique (user, channel, target) index keeps one entry,
and a second add answers the first. `suppress_targets` runs in the caller's
transaction, so a suppression is written with the change that causes it (the
dispatcher's recorded refusal, a receipt's permanent failure). This module needs
the models and the matching rules only: the dispatcher writes here without
loading the API (`service` holds the use cases behind the routes).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from notifier.database import utcnow
from notifier.notifications.models import Notification
from notifier.suppressions.matching import key_columns
from notifier.suppressions.models import Reason, Suppression

suppressions = Suppression.__table__
_s = suppressions.c
BODY_COLUMNS = (_s.id, _s.channel, _s.target, _s.reason, _s.notification_id, _s.created_at)


def body(row) -> dict[str, Any]:
    """The entry as the API answers it."""
    return {column.name: row._mapping[column.name] for column in BODY_COLUMNS}


def _insert_ignoring_duplicate(connection: Connection, values: dict):
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(suppressions)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["user_id", "channel", "target_hash"])
        .returning(*BODY_COLUMNS)
    )
    return connection.execute(statement).first()


def find(connection: Connection, user_id: int, channel: str, target: str):
    return connection.execute(
        select(*BODY_COLUMNS).where(
            _s.user_id == user_id,
            _s.channel == channel,
            _s.target_hash == key_columns(channel, target)["target_hash"],
        )
    ).first()


def add(
    connection: Connection,
    user_id: int,
    channel: str,
    target: str,
    reason: Reason,
    notification_id: int | None = None,
) -> tuple[dict[str, Any], bool]:
    """Add an entry for an already normalised target; return (entry, created)."""
    row = _insert_ignoring_duplicate(
        connection,
        {
            "user_id": user_id,
            "channel": channel,
            "target": target,
            "reason": reason,
            "notification_id": notification_id,
            "created_at": utcnow(),
            **key_columns(channel, target),
        },
    )
    if row is not None:
        return body(row), True
    return body(find(connection, user_id, channel, target)), False


def suppress_targets(connection: Connection, notification_ids: list[int], reason: Reason) -> int:
    """Suppress the targets of these notifications, live ones only (never sandbox);
    in the caller's transaction. Returns how many entries were new.

    One SELECT, then one INSERT per new target (rare: a refusal or a bounce).
    """
    if not notification_ids:
        return 0
    n = Notification.__table__.c
    rows = connection.execute(
        select(n.id, n.user_id, n.channel, n.target)
        .where(n.id.in_(notification_ids), n.sandbox.is_(False))
        .order_by(n.id)
    ).all()
    return sum(
        add(connection, row.user_id, row.channel, row.target, reason, row.id)[1] for row in rows
    )
