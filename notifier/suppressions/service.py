"""Suppression use cases: add (manual or automatic), list, lift, and the send-time check.

Every statement is scoped to one user id. `add` is idempotent: the unique
(user, channel, target) index keeps one entry, and a second add answers the
first. Automatic entries (`add_automatic`) run inside the caller's transaction,
so a suppression is written with the change that causes it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from notifier import channels
from notifier.auth.principal import ensure_valid
from notifier.database import autocommit, utcnow
from notifier.errors import not_found, unprocessable
from notifier.notifications.models import Notification
from notifier.suppressions.matching import key_columns
from notifier.suppressions.models import Reason, Suppression

suppressions = Suppression.__table__
_s = suppressions.c
NOT_FOUND = "Suppression not found."
BODY_COLUMNS = (_s.id, _s.channel, _s.target, _s.reason, _s.notification_id, _s.created_at)
REASON_TEXT = {
    Reason.MANUAL: "it was added by hand",
    Reason.REJECTED: "the provider refused this recipient",
    Reason.RECEIPT: "a delivery receipt reported a permanent failure",
    Reason.UNSUBSCRIBE: "the recipient unsubscribed",
}


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


def _find(connection: Connection, user_id: int, channel: str, target: str):
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
    return body(_find(connection, user_id, channel, target)), False


def normalised(channel: str, target: str) -> str:
    """The target validated and normalised like a notification's (422 on `target`)."""
    try:
        return channels.normalize_target(channel, target)
    except channels.ChannelError as error:
        raise unprocessable(error.field, error.message) from None


def create(user_id: int, data: dict) -> tuple[dict[str, Any], bool]:
    """POST /suppressions: (entry, created)."""
    target = normalised(data["channel"], data["target"])
    with autocommit() as connection:
        return add(connection, user_id, data["channel"], target, data.get("reason", Reason.MANUAL))


def list_page(
    user_id: int, filters: dict, page: int, page_size: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of the user's entries, newest first, and the total."""
    conditions = [_s.user_id == user_id]
    if "channel" in filters:
        conditions.append(_s.channel == filters["channel"])
    if "target" in filters:
        channel = filters.get("channel")
        if channel is None:
            raise unprocessable("channel", "Give the channel with a target.", "query")
        target = normalised(channel, filters["target"])
        conditions.append(_s.target_hash == key_columns(channel, target)["target_hash"])
    with autocommit() as connection:
        total = connection.scalar(select(func.count()).select_from(suppressions).where(*conditions))
        rows = connection.execute(
            select(*BODY_COLUMNS)
            .where(*conditions)
            .order_by(_s.created_at.desc(), _s.id.desc())
            .limit(page_size)
            .offset((page - 1) * page_size)
        ).all()
    return [body(row) for row in rows], total


def remove(user_id: int, suppression_id: int) -> None:
    """DELETE /suppressions/<id>: the target may be sent to again."""
    with autocommit() as connection:
        deleted = connection.execute(
            delete(suppressions).where(_s.id == suppression_id, _s.user_id == user_id)
        ).rowcount
    if deleted != 1:
        raise not_found(NOT_FOUND)


def check_not_suppressed(user_id: int, channel: str, target: str) -> None:
    """422 on `target` when this (normalised) target is suppressed for the user."""
    with autocommit() as connection:
        row = _find(connection, user_id, channel, target)
    if row is not None:
        ensure_valid()  # a revoked credential learns nothing about the list: 401
        raise unprocessable(
            "target",
            f"This {channel} target is suppressed: {REASON_TEXT[Reason(row.reason)]}. "
            f"Lift it with DELETE /suppressions/{row.id} to send to it again.",
        )


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
