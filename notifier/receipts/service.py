"""Receipt use cases: a caller's generic receipt, and Twilio's signed callback.

Both end in `lifecycle.receipts.apply_receipt` (the state machine's owner): one
compare-and-set from `sent`, its webhook event in the same transaction. A
permanent failure of a live notification also suppresses its target, in that
transaction too, so the next send to it is refused.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select

from notifier.auth.ownership import nothing_matched, owned, run
from notifier.database import utcnow
from notifier.errors import not_found
from notifier.extensions import db
from notifier.notifications.lifecycle import Status
from notifier.notifications.lifecycle.receipts import TWILIO_STATUSES, apply_receipt, live_sms
from notifier.notifications.models import Notification
from notifier.notifications.queries import OWNED_ROW
from notifier.notifications.schemas import notification_body
from notifier.suppressions.entries import suppress_targets
from notifier.suppressions.models import Reason

NOT_FOUND = "No notification of yours has this provider_message_id."
_n = Notification.__table__.c
# Twilio errors that mean the number will never take messages (invalid, opted out,
# unreachable for good): such a failure suppresses the target.
TWILIO_PERMANENT = frozenset({"21211", "21610", "21612", "21614", "30003", "30005", "30006"})

# The caller's newest notification with this provider id, locked for the receipt
# (a test key sees only its sandbox ones: a live one cannot be named).
FIND_OWNED = owned(
    lambda owner, valid: (
        select(_n.id)
        .where(
            _n.provider_message_id == bindparam("provider_message_id"), _n.user_id == owner, valid
        )
        .order_by(_n.id.desc())
        .limit(1)
        .with_for_update()
    ),
    "receipt_find",
)


def _apply(connection, notification, status: Status, reason: str | None, permanent: bool):
    moved = apply_receipt(connection, notification, status, utcnow(), reason)
    if moved is not None and status == Status.FAILED and permanent:
        suppress_targets(connection, [moved], Reason.RECEIPT)
    return moved


def record_receipt(data: dict) -> dict[str, Any]:
    """POST /receipts: apply it to the caller's notification; the notification after it."""
    status = Status(data["status"])
    reason = data.get("reason") or None
    if status == Status.FAILED:
        reason = f"Receipt: {reason}" if reason else "Receipt: the message was not delivered."
    with db.engine.begin() as connection:
        params = {"provider_message_id": data["provider_message_id"]}
        found = run(FIND_OWNED, params, lambda result: result.scalar(), connection=connection)
        if found is None:
            raise nothing_matched(not_found(NOT_FOUND))
        _apply(connection, found, status, reason, data.get("permanent", True))
        row = run(
            OWNED_ROW,
            {"notification_id": found},
            lambda result: result.mappings().one(),
            connection=connection,
        )
        return notification_body(row)


def record_twilio(sid: str, message_status: str, error_code: str | None) -> None:
    """A signed Twilio callback: delivered or failed; other statuses change nothing."""
    status = TWILIO_STATUSES.get(message_status)
    if status is None:
        return
    reason = None
    if status == Status.FAILED:
        reason = f"Twilio reported the message {message_status}" + (
            f" (error {error_code})." if error_code else "."
        )
    with db.engine.begin() as connection:
        _apply(connection, live_sms(sid), status, reason, error_code in TWILIO_PERMANENT)
