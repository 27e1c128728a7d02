"""Notification use cases: create (idempotent), list, read, edit, delete.

Every statement runs on the caller's behalf through `notifier.auth.ownership`
(the caller's rows only, while the credential is valid); the statements live in
`queries` (reads), `lifecycle.requests` (create, re-queue on edit, delete) and
`idempotency` (the Idempotency-Key store). This module holds the rules between
them: channel checks, merging an edit, the idempotent-create retry loop. A send
with `template_id` gets its channel, title and content from
`notifier.templates.messages.render_for_send` (the one renderer), then follows
the same path as any other.
"""

from __future__ import annotations

from sqlalchemy import RowMapping
from sqlalchemy.exc import IntegrityError

from notifier import channels
from notifier.auth.ownership import nothing_matched
from notifier.auth.principal import current_principal
from notifier.database import transaction
from notifier.errors import conflict, not_found, unprocessable
from notifier.extensions import db
from notifier.notifications import idempotency, queries
from notifier.notifications.lifecycle import CANCELLABLE_STATUSES
from notifier.notifications.lifecycle import requests as transitions
from notifier.notifications.models import EDITABLE_STATUSES
from notifier.notifications.schemas import notification_body
from notifier.suppressions.service import check_not_suppressed
from notifier.templates.messages import render_for_send

__all__ = [
    "cancel_notification",
    "create_notification",
    "delete_notification",
    "get_notification",
    "list_attempts",
    "list_notifications",
    "update_notification",
]

NOT_FOUND = queries.NOT_FOUND


def _check_channel_rules(fields: dict, *, suppressed: bool = True) -> str:
    """Validate the target and the channel limits; return the normalised target.

    A suppressed target is refused too (422 on `target`, saying why), for test
    keys as well, so the path can be tried in the sandbox. A create checks it
    inside its INSERT instead (`suppressed=False` here): no extra round trip.
    """
    try:
        target = channels.normalize_target(fields["channel"], fields["target"])
        channels.check_content(fields["channel"], fields["title"], fields["content"])
    except channels.ChannelError as error:
        raise unprocessable(error.field, error.message) from None
    if suppressed:
        check_not_suppressed(current_principal().user_id, fields["channel"], target)
    return target


def create_notification(data: dict, idempotency_key: str | None = None) -> tuple[dict, bool]:
    """Store a new `pending` notification; return `(body, replayed)`.

    Without a key: one statement. With one, the first request's answer is stored
    beside the notification in the same transaction; a repeat (or the loser of a
    race on the unique (user, key) index) answers that stored body.
    """
    fields = {**data, **render_for_send(data)} if "template_id" in data else data
    target = _check_channel_rules(fields, suppressed=False)
    if idempotency_key is None:
        return notification_body(_insert(data, fields, target)), False

    digest = idempotency.request_hash(data)
    for _ in range(3):
        replay = idempotency.replay(idempotency_key, digest)
        if replay is not None:
            return replay, True
        try:
            with transaction():
                connection = db.session.connection()
                row = _insert(data, fields, target, connection)
                body = notification_body(row)
                idempotency.store(idempotency_key, digest, body, connection)
        except IntegrityError:
            # Another request with this key committed first: answer its result.
            continue
        return body, False
    raise conflict("A request with this Idempotency-Key is in progress.", {"Retry-After": "1"})


def _insert(data: dict, fields: dict, target: str, connection=None) -> RowMapping:
    """Insert the pending row; its row, or 401 when the credential is gone.

    A send from a template also inserts nothing when the template text this
    process remembered is stale (edited or deleted since): it is then rendered
    again from the database (422 there if the template is gone) and inserted once
    more. The channel is fixed, so the checked target stays valid.
    """
    row = transitions.insert_pending(fields, target, connection)
    if row is None:  # the target is suppressed (422 saying why), or see below
        check_not_suppressed(current_principal().user_id, fields["channel"], target)
    if row is None and "template_id" in data:
        fields = {**data, **render_for_send(data, fresh=True)}
        row = transitions.insert_pending(fields, target, connection)
        if row is None:
            raise nothing_matched(
                conflict("The template changed while it was being sent; try again.")
            )
    if row is None:  # the insert's only condition is the caller's validity
        raise nothing_matched(RuntimeError("the insert matched nothing for a valid caller"))
    return row


def list_notifications(filters: dict, page: int, page_size: int) -> tuple[list[dict], int]:
    """One page of the caller's notifications (bodies) and the total count."""
    return queries.list_page(filters, page, page_size)


def get_notification(notification_id: int) -> dict:
    """The body of one of the caller's notifications."""
    return notification_body(queries.owned_row(notification_id))


def list_attempts(notification_id: int) -> list:
    """Delivery attempts of one of the caller's notifications, oldest first."""
    return queries.attempts(notification_id)


def update_notification(notification_id: int, data: dict, *, replace: bool) -> dict:
    """PUT (`replace`) or PATCH: allowed while `pending` or `failed`, else 409.

    A notification sent from a template is edited like any other: its stored
    text changes, `template_id` and `template_version` keep saying where it
    came from.

    The merged result is validated as a whole. The write is a compare-and-set on
    `version` and `status`: if the dispatcher claimed the row in between, the
    update matches nothing and the edit answers 409 instead of interleaving.
    Two statements, no transaction: the read, then the one conditional UPDATE.
    """
    current = queries.owned_row(notification_id)
    _ensure_editable(current["status"])
    if replace:
        data = {"scheduled_at": None, "reference": None, **data}
    elif not data:
        return notification_body(current)

    merged = {field: current[field] for field in transitions.EDITABLE_FIELDS} | data
    merged["target"] = _check_channel_rules(merged)
    row = transitions.requeue(current, merged)
    if row is None:
        # Lost a race (or the credential went): 401, 404 or 409, as a read now says.
        _ensure_editable(queries.owned_row(notification_id)["status"])
        raise conflict("The notification changed while it was being edited; try again.")
    return notification_body(row)


def _ensure_editable(status: str) -> None:
    if status not in EDITABLE_STATUSES:
        raise conflict(
            f"A notification that is {status} cannot be edited; only pending or failed ones can."
        )


def cancel_notification(notification_id: int) -> dict:
    """pending → cancelled: it is never delivered. Any other status is 409.

    A read, then one compare-and-set on `version` and `status`: a cancel racing a
    dispatcher's claim has one winner. If the claim won, the cancel matched
    nothing and answers 409 (the read that follows says why); if the cancel won,
    the claim never sees the row (it claims pending rows only).
    """
    current = queries.owned_row(notification_id)
    _ensure_cancellable(current["status"])
    row = transitions.cancel(current)
    if row is None:
        # Lost a race (or the credential went): 401, 404 or 409, as a read now says.
        _ensure_cancellable(queries.owned_row(notification_id)["status"])
        raise conflict("The notification changed while it was being cancelled; try again.")
    return notification_body(row)


def _ensure_cancellable(status: str) -> None:
    if status not in CANCELLABLE_STATUSES:
        raise conflict(
            f"A notification that is {status} cannot be cancelled; only pending ones can."
        )


def delete_notification(notification_id: int) -> None:
    """Delete one of the caller's notifications and its attempts."""
    if not transitions.delete_owned(notification_id):
        raise nothing_matched(not_found(NOT_FOUND))
