"""Recording delivery results: sending → sent / failed / pending (retry), and the history.

One code path for PostgreSQL and SQLite: the same Core statements, executed with
a list of parameter sets (executemany), so a local SQLite run executes exactly
what production runs. The steps of one batch, in the caller's transaction:

1. Lock the batch's rows and read their status and version (`FOR UPDATE`; SQLite
   renders none and serialises writers instead).
2. Compare-and-set: a result is written only while its row is still `sending`
   with the version its claim wrote. A row deleted, or taken back by another
   dispatcher after our lease ran out, is left alone and its result dropped.
3. Add the attempts of the rows that still exist (they happened), each numbered
   one past the highest so far, so the history survives edits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Connection

from notifier.database import UTCDateTime
from notifier.notifications.lifecycle import Attempt, NewState, Status
from notifier.notifications.models import DeliveryAttempt, Notification

notifications = Notification.__table__
attempts_table = DeliveryAttempt.__table__
_n = notifications.c
_a = attempts_table.c


class RowsChanged(Exception):
    """A row changed between the check and the write; the transaction must be retried.

    Cannot happen on PostgreSQL (the rows are locked from the check on). On
    SQLite the check runs before the writer lock is taken, so another writer may
    come in between; retrying the batch reads the rows again.
    """


@dataclass(frozen=True)
class Recorded:
    """What `record_results` did: the (id, claimed version) pairs written, the ids alive."""

    applied: set[tuple[int, int]]
    existing: set[int]


@dataclass(frozen=True)
class Result:
    """One result to record: the claim it answers, the new state, the attempt."""

    id: int
    claimed_version: int
    new_state: NewState
    attempt: Attempt


_LOCK_ROWS = (
    select(_n.id, _n.status, _n.version)
    .where(_n.id.in_(bindparam("ids", expanding=True)))
    # One order for every dispatcher, so two batches that share rows cannot deadlock.
    .order_by(_n.id)
    .with_for_update()
)

_RECORD = (
    update(notifications)
    .where(
        _n.id == bindparam("b_id"),
        _n.status == Status.SENDING,
        _n.version == bindparam("b_version"),
    )
    .values(
        status=bindparam("b_status"),
        sent_at=bindparam("b_sent_at", type_=UTCDateTime()),
        provider_message_id=bindparam("b_provider_message_id"),
        error_message=bindparam("b_error_message"),
        next_attempt_at=func.coalesce(
            bindparam("b_next_attempt_at", type_=UTCDateTime()), _n.next_attempt_at
        ),
        lease_expires_at=None,
        version=_n.version + 1,
        updated_at=bindparam("b_now", type_=UTCDateTime()),
    )
)


def record_results(connection: Connection, results: Sequence[Result], now: datetime) -> Recorded:
    """Write a batch of results (see the module docstring); return what was applied."""
    if not results:
        return Recorded(set(), set())
    current = {
        row.id: (row.status, row.version)
        for row in connection.execute(_LOCK_ROWS, {"ids": sorted({r.id for r in results})})
    }
    to_apply = [r for r in results if current.get(r.id) == (Status.SENDING, r.claimed_version)]
    if to_apply:
        written = connection.execute(
            _RECORD,
            [
                {
                    "b_id": r.id,
                    "b_version": r.claimed_version,
                    "b_now": now,
                    **_parameters(r.new_state),
                }
                for r in to_apply
            ],
        ).rowcount
        if written != len(to_apply):
            raise RowsChanged(f"{len(to_apply) - written} of {len(to_apply)} rows changed")
    insert_attempts(connection, [r.attempt for r in results if r.id in current])
    return Recorded({(r.id, r.claimed_version) for r in to_apply}, set(current))


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
