"""Claiming due rows of a queue table with a lease: one mechanism for every queue.

Two queues live in the database: notifications (the dispatcher) and webhook
deliveries (the webhook sender). Both need the same two moves, written once here:

- `claim_due`: pick up to `limit` due rows in due order and update them (mark
  them claimed, set a lease) in ONE statement. On PostgreSQL the rows are picked
  by a `MATERIALIZED` CTE with `FOR UPDATE SKIP LOCKED`: claimers on any number
  of hosts never take the same row and never wait for each other; a row updated
  after our snapshot is re-checked against the conditions when it is locked, and
  the `recheck` conditions are repeated in the UPDATE. A CTE, not `id IN
  (subquery)`: PostgreSQL may rescan an IN subquery once per outer row, and each
  rescan would lock further rows, so the claim would ignore its LIMIT. SQLite
  renders no `FOR UPDATE`: the statement runs under its single writer lock,
  which gives the same guarantee.
- `lock_expired`: lock (skip locked) up to `limit` claimed rows whose lease has
  run out, so that the caller can take them back: their claimer died.

What a queue does with taken-back rows (count a lost attempt, give up after the
last one) is the queue's business, not this module's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ColumnElement, Table, select, update
from sqlalchemy.engine import Connection, Row


def claim_due(
    connection: Connection,
    table: Table,
    *,
    due: Sequence[ColumnElement[bool]],
    order_by: Column[Any],
    limit: int,
    values: Mapping[str, Any],
    returning: Sequence[ColumnElement[Any]],
    recheck: Sequence[ColumnElement[bool]] = (),
) -> list[Row]:
    """Update up to `limit` rows matching `due`, taken in `order_by` order; return them.

    `due` should match a (partial) index ordered by `order_by`, so the pick
    walks the index. `recheck` repeats the conditions a concurrent writer
    could have changed (for example the status), so that a row updated in
    between is left alone.
    """
    if limit < 1:
        return []
    key = table.primary_key.columns.values()[0]
    picked = (
        select(key)
        .where(*due)
        .order_by(order_by)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("due")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    statement = (
        update(table)
        .where(key == picked.c[key.name], *recheck)
        .values(**values)
        .returning(*returning)
    )
    return list(connection.execute(statement))


def lock_expired(
    connection: Connection,
    table: Table,
    *,
    claimed: Sequence[ColumnElement[bool]],
    lease: Column[Any],
    now: datetime,
    limit: int,
) -> list[Row]:
    """Lock up to `limit` `claimed` rows whose `lease` ended before `now`, oldest first.

    Returns (primary key, lease) rows; the caller updates them in the same
    transaction, repeating `claimed` and the lease condition in its UPDATE
    (on SQLite nothing is locked: the repeat keeps a row taken back by someone
    else in between from being taken twice).
    """
    if limit < 1:
        return []
    key = table.primary_key.columns.values()[0]
    return connection.execute(
        select(key, lease)
        .where(*claimed, lease < now)
        .order_by(lease)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
