"""Batch use cases: create (all or nothing, idempotent), list, read, cancel.

Creating checks every recipient first (`recipients`, with the single send's
rules and the one renderer), then writes the batch and all its notifications
in one transaction (`queries`: two statements, whatever the number of
recipients). Each notification is a `pending` one like any other, with
`batch_id` and `reference` set; a recipient whose target is suppressed is
created `failed` instead (`notifier.suppressions.matching.suppressed_among`), and is never sent.

`unsubscribe` (default true) is stored on each notification: an email then
carries its one-click unsubscribe link (with PUBLIC_BASE_URL set), and a
template's `{{ unsubscribe_url }}` renders to each recipient's own link.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.exc import IntegrityError

from notifier.auth.ownership import nothing_matched, run
from notifier.auth.principal import current_principal
from notifier.batches import queries
from notifier.batches.recipients import Recipient, check_csv, check_recipients
from notifier.database import transaction, utcnow
from notifier.errors import conflict, not_found, unprocessable
from notifier.extensions import db
from notifier.notifications import idempotency
from notifier.notifications.lifecycle import STATUSES, Status, batch_status
from notifier.notifications.lifecycle import requests as transitions
from notifier.suppressions import matching
from notifier.templates import messages

NOT_FOUND = "Batch not found."
SUPPRESSED = "Suppressed"


def create_batch(data: dict, idempotency_key: str | None = None) -> tuple[dict, bool]:
    """Check every recipient, then create the batch and its notifications at once;
    `(body, replayed)`. An Idempotency-Key works as on `POST /notifications`."""
    digest = None
    if idempotency_key is not None:
        # Namespaced: the same key on POST /notifications is another request.
        digest = idempotency.request_hash({"batches": data})
        replay = idempotency.replay(idempotency_key, digest)
        if replay is not None:
            return replay, True
    text = messages.text_for_send(data["template_id"], data.get("template_version"), fresh=True)
    links = messages.unsubscribe_links(text, data.get("unsubscribe", True))
    if "csv" in data:
        recipients = check_csv(text, data["csv"], links)
    else:
        recipients = check_recipients(text, data["recipients"], links)
    data = {**data, "recipients": None, "csv": None}  # the checked list is all we need now
    for _ in range(3):
        try:
            with transaction():
                connection = db.session.connection()
                body = _insert(data, text.version, recipients, connection)
                if idempotency_key is not None:
                    idempotency.store(idempotency_key, digest, body, connection, notification=False)
        except IntegrityError:
            # Another request with this key committed first: answer its result.
            replay = idempotency.replay(idempotency_key, digest)
            if replay is not None:
                return replay, True
            continue
        return body, False
    raise conflict("A request with this Idempotency-Key is in progress.", {"Retry-After": "1"})


def _insert(data: dict, version: int, recipients: list[Recipient], connection) -> dict:
    principal = current_principal()
    now = utcnow()
    scheduled_at = data.get("scheduled_at")
    batch = run(
        queries.INSERT_BATCH,
        {
            "name": data.get("name"),
            "template_id": data["template_id"],
            "template_version": version,
            "sandbox": principal.sandbox,
            "api_key_id": principal.api_key_id,
            "scheduled_at": scheduled_at,
            "created_at": now,
        },
        lambda result: result.mappings().first(),
        connection,
    )
    if batch is None:  # the template went since it was read, or the credential did
        raise nothing_matched(unprocessable("template_id", "You have no template with this id."))
    suppressed = matching.suppressed_among(
        connection,
        principal.user_id,
        batch["channel"],
        {recipient.target for recipient in recipients},
    )
    # One delivery key per notification: a random prefix per batch, then its position.
    prefix = uuid.uuid4().hex[:20]
    rows = json.dumps(
        [
            _row(recipient, f"{prefix}{index:012x}", suppressed.get(recipient.target))
            for index, recipient in enumerate(recipients)
        ],
        ensure_ascii=False,
    )
    params = {
        "rows": rows,
        "channel": batch["channel"],
        "attempts": 0,
        "version": 1,
        "scheduled_at": scheduled_at,
        "next_attempt_at": transitions.first_attempt_at(scheduled_at, now),
        "sandbox": principal.sandbox,
        "api_key_id": principal.api_key_id,
        "template_id": batch["template_id"],
        "template_version": version,
        "batch_id": batch["id"],
        # One-click unsubscribe is on by default for a batch (email with PUBLIC_BASE_URL).
        "unsubscribe": bool(data.get("unsubscribe", True)),
        "created_at": now,
        "updated_at": now,
    }
    del rows
    inserted = queries.insert_notifications(connection, params)
    if inserted != len(recipients):  # the statement's only condition is the caller's validity
        raise nothing_matched(RuntimeError("the batch's insert matched nothing for a valid caller"))
    failed = sum(1 for recipient in recipients if recipient.target in suppressed)
    counts = {Status.PENDING.value: len(recipients) - failed, Status.FAILED.value: failed}
    return batch_body(batch, counts, claimed=False, last_change=now)


def _row(recipient: Recipient, key: str, suppressed: str | None) -> list[Any]:
    status, error = Status.PENDING, None
    if suppressed is not None:
        status, error = Status.FAILED, f"{SUPPRESSED}: {suppressed}"
    return [
        recipient.title,
        recipient.content,
        recipient.target,
        recipient.reference,
        key,
        status.value,
        error,
    ]


def batch_body(row: RowMapping, counts: dict[str, int], *, claimed: bool, last_change) -> dict:
    """The batch as answered: its counts (every status, summing to `total`) and status."""
    counts = {status.value: int(counts.get(status.value, 0)) for status in STATUSES}
    status = batch_status(counts, claimed, row["cancelled_at"] is not None)
    finished = not any(counts[s] for s in (Status.PENDING.value, Status.SENDING.value))
    finished_at = (last_change or row["created_at"]) if finished else None
    return {
        "id": row["id"],
        "name": row["name"],
        "template_id": row["template_id"],
        "template_version": row["template_version"],
        "channel": row["channel"],
        "sandbox": row["sandbox"],
        "total": sum(counts.values()),
        "counts": counts,
        "status": status.value,
        "scheduled_at": _iso(row["scheduled_at"]),
        "created_at": _iso(row["created_at"]),
        "finished_at": _iso(finished_at),
    }


def _iso(value) -> str | None:
    return None if value is None else value.isoformat()


def _bodies(rows: list[RowMapping], connection=None) -> list[dict]:
    """Bodies of these batches, their counts read in one GROUP BY."""
    found: dict[int, dict] = {row["id"]: {} for row in rows}
    claimed: dict[int, bool] = {}
    last: dict[int, Any] = {}
    for count in queries.counts(list(found), connection):
        batch_id = count["batch_id"]
        found[batch_id][count["status"]] = count["total"]
        claimed[batch_id] = claimed.get(batch_id, False) or (count["attempts"] or 0) > 0
        if last.get(batch_id) is None or count["updated_at"] > last[batch_id]:
            last[batch_id] = count["updated_at"]
    return [
        batch_body(
            row,
            found[row["id"]],
            claimed=claimed.get(row["id"], False),
            last_change=last.get(row["id"]),
        )
        for row in rows
    ]


def get_batch(batch_id: int) -> dict:
    """One of the caller's batches, its counts current."""
    row = queries.batch_row(batch_id)
    if row is None:
        raise nothing_matched(not_found(NOT_FOUND))
    return _bodies([row])[0]


def list_batches(page: int, page_size: int) -> tuple[list[dict], int]:
    """One page of the caller's batches, newest first, and how many there are."""
    params = {"offset": min((page - 1) * page_size, 2**62), "limit": page_size}
    rows = run(queries.BATCH_PAGE, params, lambda result: result.mappings().all())
    total = run(queries.BATCH_TOTAL, {}, lambda result: result.scalar())
    return _bodies(rows), int(total or 0)


def cancel_batch(batch_id: int) -> dict:
    """Every pending notification of the batch → cancelled, in one statement; the
    batch is cancelled. Ones being sent finish. Again: nothing changes."""
    with transaction():
        connection = db.session.connection()
        if run(
            queries.CANCEL,
            {"cancelled_batch_id": batch_id, "now": utcnow()},
            lambda r: r.first(),
            connection,
        ):
            transitions.cancel_batch(batch_id, connection)
        row = queries.batch_row(batch_id, connection)
        if row is None:
            raise nothing_matched(not_found(NOT_FOUND))
        return _bodies([row], connection)[0]
