"""Recording delivery results: sending → sent / failed / pending (retry), and the history.

One code path for PostgreSQL and SQLite: the same statements, so a local SQLite
run executes exactly what production runs. A batch costs two statements:

1. One compare-and-set `UPDATE … FROM (VALUES …)` for the whole batch: a result
   is written only while its row is still `sending` with the version its claim
   wrote and the idempotency key the try carried, and `RETURNING` names the rows
   written. A row deleted, or taken back by another dispatcher after our lease
   ran out, is left alone; so is another notification that got the same id and
   version (the key is random per notification and edit: an id and a version
   name a row, the key names the try). (One statement per batch, not one per
   result: an executemany of a per-row UPDATE cost far more CPU per result, on
   the dispatcher and on PostgreSQL alike; figures in
   docs/operations/performance.md.)
   The webhook events of the rows written go into the outbox in the same
   transaction (`notifier.webhooks.outbox`).
2. One INSERT of the attempts of the rows that still exist (they happened),
   each numbered one past the highest so far, so the history survives edits.

The UPDATE locks the rows it writes until commit (on SQLite, the first write
takes the writer lock), so a concurrent delete waits and attempt numbers cannot
collide; rows it did not write are locked with `FOR UPDATE` before the INSERT.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import TextClause

from notifier.database import UTCDateTime
from notifier.notifications.lifecycle import Attempt, NewState, Status
from notifier.notifications.models import DeliveryAttempt, Notification
from notifier.webhooks.outbox import enqueue_notification_events, event_for_status

notifications = Notification.__table__
attempts_table = DeliveryAttempt.__table__
_n = notifications.c
_a = attempts_table.c


@dataclass(frozen=True)
class Recorded:
    """What `record_results` did: the (id, claimed version, delivery key) of the tries
    written, and the ids alive."""

    applied: set[tuple[int, int, str]]
    existing: set[int]


@dataclass(frozen=True)
class Result:
    """One result to record: the claim it answers (its row, the version it wrote and
    the idempotency key it sent), the new state, the attempt."""

    id: int
    claimed_version: int
    delivery_key: str
    new_state: NewState
    attempt: Attempt


def statement_size(count: int) -> int:
    """The statement size that holds `count` results: 1, 2, 3, 4, 6, 8, 12, 16, 24...

    Each size is a statement of its own, kept compiled (here and in the engine's
    cache), and one of 200 results holds about 0.8 MB: a statement per batch size
    grew a busy dispatcher by tens of MB. These sizes (a power of two, or three
    quarters of one) make 16 statements up to 256 results, and pad a batch by less
    than half (a fifth on average).
    """
    power = 1
    while power < count:
        power *= 2
    three_quarters = power * 3 // 4
    return three_quarters if power >= 4 and count <= three_quarters else power


@cache  # one per `statement_size`
def _record_statement(size: int) -> TextClause:
    """The compare-and-set UPDATE of `size` results (their parameters `r<i>_<column>`).

    Plain SQL that both databases run as written (SQLite 3.33 or later: UPDATE
    FROM, RETURNING). Core's `values()` renders the same statement, but it is
    compiled again on every execution, which cost more CPU than the round trips
    it saves. `r_at` is the new state's one timestamp: `sent_at` of a sent
    result, `next_attempt_at` of a retry, and for a failure a value that is not
    written. It is never NULL, because PostgreSQL types a VALUES column from its
    values: a column of NULLs only would be text, which no timestamp column takes.
    """
    rows = ",\n".join(
        f"(:r{i}_id, :r{i}_version, :r{i}_key, :r{i}_status, :r{i}_at, "
        f":r{i}_provider_message_id, :r{i}_error_message)"
        for i in range(size)
    )
    # Built only from our own parameter names and enum values.
    statement = text(
        f"""
        WITH results (r_id, r_version, r_key, r_status, r_at, r_provider_message_id,
                      r_error_message)
        AS (VALUES {rows})
        UPDATE notifications SET
            status = r_status,
            sent_at = CASE WHEN r_status = '{Status.SENT}' THEN r_at END,
            provider_message_id = r_provider_message_id,
            error_message = r_error_message,
            next_attempt_at = CASE WHEN r_status = '{Status.PENDING}' THEN r_at
                                   ELSE next_attempt_at END,
            lease_expires_at = NULL,
            version = version + 1,
            updated_at = :now
        FROM results
        WHERE id = r_id AND version = r_version AND delivery_key = r_key
            AND status = '{Status.SENDING}'
        RETURNING id, version - 1, delivery_key
        """  # noqa: S608
    )
    timestamps = [f"r{i}_at" for i in range(size)] + ["now"]
    return statement.bindparams(*(bindparam(name, type_=UTCDateTime()) for name in timestamps))


def _result_parameters(i: int, result: Result, now: datetime) -> dict[str, Any]:
    state = result.new_state
    return {
        f"r{i}_id": result.id,
        f"r{i}_version": result.claimed_version,
        f"r{i}_key": result.delivery_key,
        f"r{i}_status": state.status,
        f"r{i}_at": state.sent_at or state.next_attempt_at or now,
        f"r{i}_provider_message_id": state.provider_message_id,
        f"r{i}_error_message": state.error_message,
    }


def record_results(connection: Connection, results: Sequence[Result], now: datetime) -> Recorded:
    """Write a batch of results (see the module docstring); return what was applied."""
    if not results:
        return Recorded(set(), set())
    parameters = {"now": now}
    size = statement_size(len(results))
    for i in range(size):
        # The padding repeats the last result: the same row joined twice with the
        # same values is written once, and returned once.
        parameters |= _result_parameters(i, results[min(i, len(results) - 1)], now)
    applied = {
        (row[0], row[1], row[2]) for row in connection.execute(_record_statement(size), parameters)
    }
    # The events these changes announce, in the same transaction (the outbox).
    enqueue_notification_events(
        connection,
        {
            r.id: event_for_status(r.new_state.status)
            for r in results
            if (r.id, r.claimed_version, r.delivery_key) in applied
        },
    )
    existing = {id_ for id_, _, _ in applied}
    missing = sorted({r.id for r in results} - existing)
    if missing:
        # Lock the rows still there, so that our attempt numbers cannot collide
        # with those their new claimer is recording.
        existing |= set(
            connection.execute(
                select(_n.id).where(_n.id.in_(missing)).order_by(_n.id).with_for_update()
            ).scalars()
        )
    insert_attempts(connection, [r.attempt for r in results if r.id in existing])
    return Recorded(applied, existing)


_INSERT_ATTEMPT = insert(attempts_table).values(
    notification_id=bindparam("b_notification_id"),
    number=(
        select(func.coalesce(func.max(_a.number), 0) + 1)
        .where(_a.notification_id == bindparam("b_notification_id"))
        .scalar_subquery()
    ),
    started_at=bindparam("b_started_at", type_=UTCDateTime()),
    finished_at=bindparam("b_finished_at", type_=UTCDateTime()),
    outcome=bindparam("b_outcome"),
    http_status=bindparam("b_http_status"),
    error=bindparam("b_error"),
    provider_message_id=bindparam("b_provider_message_id"),
    duration_ms=bindparam("b_duration_ms"),
)


def insert_attempts(connection: Connection, attempts: Sequence[Attempt]) -> None:
    """Add attempts, each numbered one past its notification's highest so far.

    The caller holds the notifications' row locks (or SQLite's writer lock), so
    no other transaction numbers attempts of the same notifications meanwhile.
    The number is computed by the INSERT itself. One execution batches its rows
    into one statement where the driver can (PostgreSQL), and such a statement
    does not see its own rows: a notification with two attempts in one batch (a
    late result and the reclaim that followed it) would get one number twice,
    so each execution holds at most one attempt per notification, in order.
    """
    rounds: list[list[dict]] = []
    seen: dict[int, int] = {}
    for attempt in attempts:
        index = seen.get(attempt.notification_id, 0)
        seen[attempt.notification_id] = index + 1
        if index == len(rounds):
            rounds.append([])
        rounds[index].append(_parameters(attempt))
    for parameters in rounds:
        connection.execute(_INSERT_ATTEMPT, parameters)


def _parameters(values: NewState | Attempt) -> dict[str, Any]:
    """A dataclass's fields as the statements' `b_` parameters (shallow, unlike asdict)."""
    return {f"b_{field.name}": getattr(values, field.name) for field in fields(values)}
