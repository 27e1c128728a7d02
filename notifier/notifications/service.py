"""Notification use cases: create (idempotent), list, read, edit, delete.

Edits and deletes race the dispatcher's claims. Each write is a single
compare-and-set `UPDATE`/`DELETE` guarded by `version` and `status`, so one side
wins cleanly on PostgreSQL and SQLite alike, without holding row locks while the
request is being validated.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from notifier import channels
from notifier.database import read, transaction, utcnow
from notifier.errors import conflict, not_found, unprocessable
from notifier.extensions import db
from notifier.notifications.models import (
    EDITABLE_STATUSES,
    DeliveryAttempt,
    IdempotencyKey,
    Notification,
    NotificationCount,
)
from notifier.notifications.schemas import NotificationSchema

NOT_FOUND = "Notification not found."
EDITABLE_FIELDS = ("title", "content", "channel", "target", "scheduled_at")
_dump = NotificationSchema().dump


def _check_channel_rules(fields: dict) -> str:
    """Validate the target and the channel limits; return the normalised target."""
    try:
        target = channels.normalize_target(fields["channel"], fields["target"])
        channels.check_content(fields["channel"], fields["title"], fields["content"])
    except channels.ChannelError as error:
        raise unprocessable(error.field, error.message) from None
    return target


def _first_attempt_at(scheduled_at: datetime | None, now: datetime) -> datetime:
    return scheduled_at if scheduled_at is not None and scheduled_at > now else now


# Built once (a hot path): scoped to the user, so another user's id is a 404.
_OWNED = select(Notification).where(
    Notification.id == bindparam("notification_id"), Notification.user_id == bindparam("user_id")
)


def _owned(user_id: int, notification_id: int) -> Notification:
    params = {"notification_id": notification_id, "user_id": user_id}
    notification = read(_OWNED, params).scalar_one_or_none()
    if notification is None:
        raise not_found(NOT_FOUND)
    return notification


# --- create -------------------------------------------------------------------


def _request_hash(data: dict) -> str:
    canonical = {
        key: (value.isoformat() if isinstance(value, datetime) else value)
        for key, value in data.items()
    }
    encoded = json.dumps(canonical, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()


def _insert(user_id: int, data: dict) -> Notification:
    """Add a new notification to the session (the caller commits)."""
    target = _check_channel_rules(data)
    now = utcnow()
    notification = Notification(
        user_id=user_id,
        title=data["title"],
        content=data["content"],
        channel=data["channel"],
        target=target,
        status="pending",
        attempts=0,
        version=1,
        scheduled_at=data.get("scheduled_at"),
        next_attempt_at=_first_attempt_at(data.get("scheduled_at"), now),
        delivery_key=uuid.uuid4().hex,
        created_at=now,
        updated_at=now,
    )
    # Flushing the INSERT also wakes idle dispatchers on PostgreSQL: a trigger
    # sends NOTIFY for a due pending row (migration 0004).
    db.session.add(notification)
    db.session.flush()
    return notification


def create_notification(user_id: int, data: dict, idempotency_key: str | None = None):
    """Store a new `pending` notification; return `(body, replayed)`.

    With an idempotency key, the first request's answer is stored beside the
    notification in the same transaction; a repeat (or the loser of a race on
    the unique (user, key) index) answers that stored body.
    """
    if idempotency_key is None:
        with transaction():
            notification = _insert(user_id, data)
        return _dump(notification), False

    request_hash = _request_hash(data)
    for _ in range(3):
        replay = _replay(user_id, idempotency_key, request_hash)
        if replay is not None:
            return replay, True
        try:
            with transaction():
                notification = _insert(user_id, data)
                body = _dump(notification)
                db.session.add(
                    IdempotencyKey(
                        user_id=user_id,
                        key=idempotency_key,
                        request_hash=request_hash,
                        notification_id=notification.id,
                        response_code=201,
                        response_body=body,
                    )
                )
                db.session.flush()
        except IntegrityError:
            # Another request with this key committed first: answer its result.
            continue
        return body, False
    raise conflict("A request with this Idempotency-Key is in progress.", {"Retry-After": "1"})


def _replay(user_id: int, key: str, request_hash: str) -> dict | None:
    """The stored answer for this key, or None when the key is new (or expired)."""
    record = db.session.execute(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    ).scalar_one_or_none()
    if record is None:
        return None
    ttl = timedelta(seconds=current_app.config["IDEMPOTENCY_KEY_TTL_S"])
    if record.created_at < utcnow() - ttl:
        with transaction():
            db.session.delete(record)
        return None
    if record.request_hash != request_hash:
        raise unprocessable(
            "Idempotency-Key",
            "This Idempotency-Key was used with a different request body.",
            location="headers",
        )
    return record.response_body


def purge_idempotency_keys(older_than: datetime) -> int:
    """Delete idempotency keys created before `older_than`; return how many."""
    with transaction():
        result = db.session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.created_at < older_than)
        )
    return result.rowcount


# --- read -----------------------------------------------------------------------


def get_notification(user_id: int, notification_id: int) -> Notification:
    return _owned(user_id, notification_id)


def list_notifications(
    user_id: int, filters: dict, page: int, page_size: int
) -> tuple[list[Mapping], int]:
    """One page, newest first (ties: higher id first), and the total count.

    Rows come back as mappings, not ORM objects: a page is only read and
    dumped, and building 100 tracked objects cost more than the query.
    """
    conditions = [Notification.user_id == user_id]
    counted = [NotificationCount.user_id == user_id]
    for name in ("status", "channel"):
        if name in filters:
            conditions.append(getattr(Notification, name) == filters[name])
            counted.append(getattr(NotificationCount, name) == filters[name])
    # The counters table (kept by triggers) answers the total in O(1).
    total = read(
        select(func.coalesce(func.sum(NotificationCount.total), 0)).where(*counted)
    ).scalar_one()
    offset = (page - 1) * page_size
    if offset >= total:
        return [], total
    rows = read(
        select(Notification.__table__)
        .where(*conditions)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .offset(offset)
        .limit(page_size)
    ).mappings()
    return rows.all(), total


def list_attempts(user_id: int, notification_id: int) -> list[DeliveryAttempt]:
    _owned(user_id, notification_id)
    rows = read(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.notification_id == notification_id)
        .order_by(DeliveryAttempt.number, DeliveryAttempt.id)
    ).scalars()
    return list(rows)


# --- edit and delete ------------------------------------------------------------


def update_notification(user_id: int, notification_id: int, data: dict, *, replace: bool):
    """PUT (`replace`) or PATCH: allowed while `pending` or `failed`, else 409.

    The merged result is validated as a whole. The write is a compare-and-set on
    `version` and `status`: if the dispatcher claimed the row in between, the
    update matches nothing and the edit answers 409 instead of interleaving.
    """
    current = _owned(user_id, notification_id)
    _ensure_editable(current)
    if replace:
        data = {"scheduled_at": None, **data}
    elif not data:
        return current

    merged = {field: getattr(current, field) for field in EDITABLE_FIELDS} | data
    merged["target"] = _check_channel_rules(merged)
    now = utcnow()
    values = {
        **merged,
        "status": "pending",
        "next_attempt_at": _first_attempt_at(merged["scheduled_at"], now),
        "lease_expires_at": None,
        "delivery_key": uuid.uuid4().hex,
        "version": current.version + 1,
        "updated_at": now,
    }
    if current.status == "failed":
        values |= {"attempts": 0, "error_message": None}

    with transaction():
        result = db.session.execute(
            update(Notification)
            .where(
                Notification.id == notification_id,
                Notification.user_id == user_id,
                Notification.version == current.version,
                Notification.status.in_(EDITABLE_STATUSES),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    if result.rowcount != 1:
        db.session.expire_all()
        _ensure_editable(_owned(user_id, notification_id))
        raise conflict("The notification changed while it was being edited; try again.")
    db.session.expire(current)
    return _owned(user_id, notification_id)


def _ensure_editable(notification: Notification) -> None:
    if notification.status not in EDITABLE_STATUSES:
        raise conflict(
            f"A notification that is {notification.status} cannot be edited; "
            "only pending or failed ones can."
        )


def delete_notification(user_id: int, notification_id: int) -> None:
    """Delete it and its attempts. A claimed one may still be in flight to the
    provider; its result then finds no row and is dropped."""
    with transaction():
        result = db.session.execute(
            delete(Notification).where(
                Notification.id == notification_id, Notification.user_id == user_id
            )
        )
    if result.rowcount != 1:
        raise not_found(NOT_FOUND)
