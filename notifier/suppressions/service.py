"""Suppression use cases: add (manual or automatic), list, lift, and the send-time check.

Every statement is scoped to one user id. The INSERT itself (`add`, idempotent)
and the automatic entries (`suppress_targets`, in the caller's transaction) are
in `entries`, which the dispatcher and receipts use without loading the API.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, func, or_, select

from notifier import channels
from notifier.auth.principal import ensure_valid
from notifier.database import autocommit
from notifier.errors import not_found, unprocessable
from notifier.suppressions.entries import (
    BODY_COLUMNS,
    add,
    body,
    find,
    suppressions,
)
from notifier.suppressions.matching import key_columns
from notifier.suppressions.models import Reason

_s = suppressions.c
NOT_FOUND = "Suppression not found."
REASON_TEXT = {
    Reason.MANUAL: "it was added by hand",
    Reason.REJECTED: "the provider refused this recipient",
    Reason.RECEIPT: "a delivery receipt reported a permanent failure",
    Reason.UNSUBSCRIBE: "the recipient unsubscribed",
}


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


def _target_condition(channel: str | None, target: str):
    """Entries for `target` on `channel`, or, without a channel, on every channel that
    takes it as a target (an address, a number or a device token); 422 when none does."""
    if channel is not None:
        return _s.target_hash == key_columns(channel, normalised(channel, target))["target_hash"]
    keys = []
    for each in channels.CHANNELS:
        try:
            keys.append((each, channels.normalize_target(each, target)))
        except channels.ChannelError:
            continue
    if not keys:
        raise unprocessable(
            "target", "Not an email address, a phone number or a device token.", "query"
        )
    return or_(
        *(
            and_(_s.channel == each, _s.target_hash == key_columns(each, key)["target_hash"])
            for each, key in keys
        )
    )


def list_page(
    user_id: int, filters: dict, page: int, page_size: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of the user's entries, newest first, and the total."""
    conditions = [_s.user_id == user_id]
    if "channel" in filters:
        conditions.append(_s.channel == filters["channel"])
    if "target" in filters:
        conditions.append(_target_condition(filters.get("channel"), filters["target"]))
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
        row = find(connection, user_id, channel, target)
    if row is not None:
        ensure_valid()  # a revoked credential learns nothing about the list: 401
        raise unprocessable(
            "target",
            f"This {channel} target is suppressed: {REASON_TEXT[Reason(row.reason)]}. "
            f"Lift it with DELETE /suppressions/{row.id} to send to it again.",
        )
