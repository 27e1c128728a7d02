"""The transitions a caller's request makes: create (a new pending row), re-queue
on edit, cancel, delete. The dispatcher's (claim, reclaim, release, record) are beside
them in `claims` and `results`.

Each transition is one statement builder and one function. Every
statement goes through `notifier.auth.ownership`: it touches only the caller's
rows, and only while the caller's credential is valid, inside the statement
itself (one round trip). Edits and deletes race the dispatcher's claims: each is
a single compare-and-set statement, so one side wins cleanly on PostgreSQL and
SQLite alike, without holding row locks while the request is being validated.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Connection, RowMapping, bindparam, delete, insert, select, update

from notifier.auth.ownership import owned, run
from notifier.auth.principal import current_principal
from notifier.database import utcnow
from notifier.notifications.lifecycle import CANCELLABLE_STATUSES, EDITABLE_STATUSES, Status
from notifier.notifications.models import Notification
from notifier.suppressions.matching import suppressed_condition
from notifier.templates.texts import still_usable

_TABLE = Notification.__table__
EDITABLE_FIELDS = ("title", "content", "channel", "target", "scheduled_at", "reference")


def first_attempt_at(scheduled_at: datetime | None, now: datetime) -> datetime:
    return scheduled_at if scheduled_at is not None and scheduled_at > now else now


# --- create: a new pending row ----------------------------------------------------

# Every column but the id, the owner and those only the dispatcher writes.
_NEW_ROW_COLUMNS = tuple(
    column.name
    for column in _TABLE.c
    if column.name
    not in {
        "id",
        "user_id",
        "lease_expires_at",
        "sent_at",
        "delivered_at",
        "error_message",
        "provider_message_id",
    }
)


def _insert_pending(from_template: bool):
    """INSERT ... SELECT: one statement, so it needs no transaction of its own, and
    it inserts nothing once the credential is revoked. Triggers (counters, the
    dispatchers' NOTIFY) run inside it. `from_template`: it also inserts nothing
    unless the template the text was rendered from is still usable at that
    version (`notifier.templates.texts.still_usable`), checked in the same statement."""

    def build(owner, valid):
        values = select(
            owner.label("user_id"),
            *(bindparam(name, type_=_TABLE.c[name].type).label(name) for name in _NEW_ROW_COLUMNS),
        ).where(
            valid,
            # A suppressed target inserts nothing; the service then says why (422).
            ~suppressed_condition(
                owner,
                bindparam("channel", type_=_TABLE.c.channel.type),
                bindparam("target", type_=_TABLE.c.target.type),
            ),
            *([still_usable(owner)] if from_template else []),
        )
        return (
            insert(_TABLE)
            .from_select(list(values.selected_columns.keys()), values)
            .returning(*_TABLE.c)
        )

    return owned(build, f"insert_pending(from_template={from_template})")


INSERT_PENDING = {False: _insert_pending(False), True: _insert_pending(True)}


def insert_pending(
    fields: dict, target: str, connection: Connection | None = None
) -> RowMapping | None:
    """Insert a `pending` notification of the caller (checked `fields`, normalised
    `target`); its row, or None if the caller's credential is no longer valid.
    A test API key makes it a `sandbox` notification; the key is recorded, and
    so is the template (id and version) the text was rendered from, if any:
    then None too if that template is no longer usable at that version."""
    now = utcnow()
    principal = current_principal()
    values = {
        "title": fields["title"],
        "content": fields["content"],
        "channel": fields["channel"],
        "target": target,
        "status": Status.PENDING,
        "attempts": 0,
        "version": 1,
        "scheduled_at": fields.get("scheduled_at"),
        "next_attempt_at": first_attempt_at(fields.get("scheduled_at"), now),
        "delivery_key": uuid.uuid4().hex,
        "sandbox": principal.sandbox,
        "api_key_id": principal.api_key_id,
        "template_id": fields.get("template_id"),
        "template_version": fields.get("template_version"),
        "reference": fields.get("reference"),
        "batch_id": None,
        "unsubscribe": bool(fields.get("unsubscribe", False)),
        "created_at": now,
        "updated_at": now,
    }
    check = fields.get("template_check")
    if check is not None:
        values |= check
    statement = INSERT_PENDING[check is not None]
    return run(statement, values, lambda result: result.mappings().first(), connection)


# --- re-queue on edit: compare-and-set ----------------------------------------------


def _requeue_statement(reset_attempts: bool):
    """The compare-and-set UPDATE of an edit, built once per kind.

    It matches only while the row still has the version and an editable status
    the edit was computed from, and while the caller's credential is valid.
    """
    columns = [*EDITABLE_FIELDS, "status", "next_attempt_at", "lease_expires_at"]
    columns += ["delivery_key", "version", "updated_at"]
    if reset_attempts:
        columns += ["attempts", "error_message"]

    def build(owner, valid):
        return (
            update(_TABLE)
            .where(
                _TABLE.c.id == bindparam("notification_id"),
                _TABLE.c.user_id == owner,
                _TABLE.c.version == bindparam("expected_version"),
                _TABLE.c.status.in_(EDITABLE_STATUSES),
                valid,
            )
            .values({name: bindparam(f"new_{name}", type_=_TABLE.c[name].type) for name in columns})
            .returning(*_TABLE.c)
        )

    return owned(build, f"requeue(reset_attempts={reset_attempts})")


# Editing a failed notification also resets its attempts; a pending one keeps
# them (a retry may be scheduled, and its count belongs to the dispatcher).
_REQUEUE = {False: _requeue_statement(False), True: _requeue_statement(True)}


def requeue(current: RowMapping, fields: dict) -> RowMapping | None:
    """Write the edited `fields` over the row `current` read, back to `pending` with a
    new delivery key; the new row, or None if the row changed since (or the
    credential is no longer valid)."""
    now = utcnow()
    failed = current["status"] == Status.FAILED
    values = {
        **{name: fields[name] for name in EDITABLE_FIELDS},
        "status": Status.PENDING,
        "next_attempt_at": first_attempt_at(fields["scheduled_at"], now),
        "lease_expires_at": None,
        "delivery_key": uuid.uuid4().hex,
        "version": current["version"] + 1,
        "updated_at": now,
    }
    if failed:
        values |= {"attempts": 0, "error_message": None}
    params = {
        "notification_id": current["id"],
        "expected_version": current["version"],
        **{f"new_{name}": value for name, value in values.items()},
    }
    return run(_REQUEUE[failed], params, lambda result: result.mappings().first())


# --- cancel: compare-and-set ------------------------------------------------------------


def _cancel(owner, valid):
    """pending → cancelled, only while the row still has the version and the status
    the caller read. A dispatcher's claim bumps the version and sets `sending`:
    whichever commits first wins, the other matches nothing (on PostgreSQL the
    UPDATE waits for a claim's row lock and re-checks; SQLite has one writer)."""
    return (
        update(_TABLE)
        .where(
            _TABLE.c.id == bindparam("notification_id"),
            _TABLE.c.user_id == owner,
            _TABLE.c.version == bindparam("expected_version"),
            _TABLE.c.status.in_(CANCELLABLE_STATUSES),
            valid,
        )
        .values(
            status=Status.CANCELLED,
            version=_TABLE.c.version + 1,
            lease_expires_at=None,
            updated_at=bindparam("now", type_=_TABLE.c.updated_at.type),
        )
        .returning(*_TABLE.c)
    )


CANCEL = owned(_cancel, "cancel")


def cancel(current: RowMapping) -> RowMapping | None:
    """Cancel the row `current` read; the new row, or None if it changed since (a
    claim won) or the caller's credential is no longer valid."""
    params = {
        "notification_id": current["id"],
        "expected_version": current["version"],
        "now": utcnow(),
    }
    return run(CANCEL, params, lambda result: result.mappings().first())


def _cancel_batch(owner, valid):
    """Every pending notification of one batch → cancelled, in one statement. Rows
    a dispatcher holds (`sending`) are not touched and finish; on PostgreSQL a row
    being claimed right now is waited for and re-checked, so it is either claimed
    or cancelled, never both."""
    return (
        update(_TABLE)
        .where(
            _TABLE.c.batch_id == bindparam("cancelled_batch_id"),
            _TABLE.c.status.in_(CANCELLABLE_STATUSES),
            _TABLE.c.user_id == owner,
            valid,
        )
        .values(
            status=Status.CANCELLED,
            version=_TABLE.c.version + 1,
            updated_at=bindparam("now", type_=_TABLE.c.updated_at.type),
        )
    )


CANCEL_BATCH = owned(_cancel_batch, "cancel_batch")


def cancel_batch(batch_id: int, connection: Connection) -> int:
    """Cancel the pending notifications of the caller's batch; how many."""
    params = {"cancelled_batch_id": batch_id, "now": utcnow()}
    return run(CANCEL_BATCH, params, lambda result: result.rowcount, connection)


# --- delete ---------------------------------------------------------------------------

DELETE = owned(
    lambda owner, valid: delete(_TABLE).where(
        _TABLE.c.id == bindparam("notification_id"), _TABLE.c.user_id == owner, valid
    ),
    "delete",
)


def delete_owned(notification_id: int) -> bool:
    """Delete it and its attempts (cascade); False if nothing matched. A claimed one
    may still be in flight to the provider; its result then finds no row and is dropped."""
    return run(DELETE, {"notification_id": notification_id}, lambda result: result.rowcount) == 1
