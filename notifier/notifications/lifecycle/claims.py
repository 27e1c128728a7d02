"""The dispatcher's side of the state machine: claim, reclaim after a lease, release.

Each function runs inside the caller's transaction (a `Connection` in `begin()`)
and returns plain rows; the worker's queue turns them into claims, counts and logs.
One statement serves PostgreSQL and SQLite: PostgreSQL locks with `FOR UPDATE
SKIP LOCKED`, so dispatchers on any number of hosts never take the same row;
SQLite renders no `FOR UPDATE` and serialises writers, which gives the same
guarantee.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, case, func, literal, select, update
from sqlalchemy.engine import Connection, Row

from notifier import claims as queue_claims
from notifier.database import UTCDateTime
from notifier.notifications.lifecycle import Attempt, Outcome, Status
from notifier.notifications.lifecycle.results import insert_attempts
from notifier.notifications.models import Notification
from notifier.suppressions.matching import suppressed_condition
from notifier.webhooks.outbox import enqueue_notification_events, event_for_status

notifications = Notification.__table__
_n = notifications.c

# What a claim needs to send the notification and to write its result later.
CLAIMED_COLUMNS = (
    _n.id,
    _n.version,
    _n.attempts,
    _n.delivery_key,
    _n.channel,
    _n.target,
    _n.title,
    _n.content,
    _n.sandbox,
    _n.user_id,
    _n.unsubscribe,
)


# A claimed row whose target is suppressed for its user: one probe of
# `ix_suppressions_lookup` per claimed row, inside the claim statement itself.
_SUPPRESSED = suppressed_condition(_n.user_id, _n.channel, _n.target)
SUPPRESSED_ERROR = (
    "Suppressed: the target was suppressed before this notification was sent "
    "(see GET /suppressions)."
)


def claim_due(
    connection: Connection, limit: int, now: datetime, lease_until: datetime
) -> list[Row]:
    """pending → sending: up to `limit` due rows, oldest due first, under a lease.

    The same statement fails (pending → failed, `error_message` starting with
    `Suppressed`) the picked rows whose target is suppressed for their user, so
    they are never sent; their `notification.failed` events go into the outbox
    and only the rows to send are returned. No per-row round trip: a large
    backlog pays one index probe per claimed row, in the database.

    Through the one claiming mechanism of every queue (`notifier.claims`): its
    CTE walks the partial index `ix_notifications_due` in `next_attempt_at`
    order and locks what it returns; `SKIP LOCKED` steps over rows that another
    dispatcher is claiming or an edit is updating, instead of waiting for them. A
    row updated after our snapshot is re-checked against the WHERE clause when
    locked (PostgreSQL's EvalPlanQual), so an edit committed before the claim is
    claimed with its new content and version.
    """
    rows = queue_claims.claim_due(
        connection,
        notifications,
        due=(_n.status == Status.PENDING, _n.next_attempt_at <= now),
        order_by=_n.next_attempt_at,
        limit=limit,
        values={
            "status": case((_SUPPRESSED, Status.FAILED.value), else_=Status.SENDING.value),
            "error_message": case((_SUPPRESSED, SUPPRESSED_ERROR), else_=_n.error_message),
            "lease_expires_at": case(
                (_SUPPRESSED, None), else_=literal(lease_until, UTCDateTime())
            ),
            "attempts": case((_SUPPRESSED, _n.attempts), else_=_n.attempts + 1),
            "version": _n.version + 1,
            "updated_at": now,
        },
        returning=(*CLAIMED_COLUMNS, _n.status),
        recheck=(_n.status == Status.PENDING,),
    )
    suppressed = [row.id for row in rows if row.status == Status.FAILED]
    if not suppressed:
        return rows
    # Announced like any other failure, in this transaction (the outbox).
    enqueue_notification_events(
        connection, dict.fromkeys(suppressed, event_for_status(Status.FAILED))
    )
    return [row for row in rows if row.status != Status.FAILED]


@dataclass(frozen=True)
class Reclaimed:
    """What `reclaim_expired` did: rows claimed again, and how many it failed."""

    rows: list[Row]
    failed: int


def reclaim_expired(
    connection: Connection,
    limit: int,
    now: datetime,
    lease_until: datetime,
    *,
    lease_s: float,
    max_attempts: int,
) -> Reclaimed:
    """sending → sending (new lease) or failed: rows whose dispatcher died.

    Walks `ix_notifications_lease`. The lost try is recorded as an attempt whose
    result is unknown; a row that already used its last attempt is failed rather
    than sent again. The updates repeat the lease condition, so on SQLite (no
    row locks) a row that someone else took back in between is left alone.
    """
    expired = queue_claims.lock_expired(
        connection,
        notifications,
        claimed=(_n.status == Status.SENDING,),
        lease=_n.lease_expires_at,
        now=now,
        limit=limit,
    )
    if not expired:
        return Reclaimed([], 0)
    lost_since = {row.id: row.lease_expires_at for row in expired}
    still_expired = (
        _n.id.in_(list(lost_since)),
        _n.status == Status.SENDING,
        _n.lease_expires_at < now,
    )
    exhausted = connection.execute(
        update(notifications)
        .where(*still_expired, _n.attempts >= max_attempts)
        .values(
            status=Status.FAILED,
            lease_expires_at=None,
            error_message=(
                f"Gave up after {max_attempts} attempts: the dispatcher making the last "
                "one stopped before it recorded a result, so whether the provider "
                "sent it is unknown."
            ),
            version=_n.version + 1,
            updated_at=now,
        )
        .returning(_n.id)
    ).all()
    reclaimed = connection.execute(
        update(notifications)
        .where(*still_expired, _n.attempts < max_attempts)
        .values(
            lease_expires_at=lease_until,
            attempts=_n.attempts + 1,
            version=_n.version + 1,
            updated_at=now,
        )
        .returning(*CLAIMED_COLUMNS)
    ).all()
    # A notification failed here announces it, in this transaction (the outbox).
    enqueue_notification_events(
        connection, dict.fromkeys([row.id for row in exhausted], event_for_status(Status.FAILED))
    )
    # Both updates locked their rows: the attempt numbers cannot collide.
    insert_attempts(
        connection,
        [_lost_attempt(row.id, lost_since[row.id], now, lease_s) for row in exhausted + reclaimed],
    )
    return Reclaimed(reclaimed, len(exhausted))


def _lost_attempt(
    notification_id: int, lease_ended: datetime, now: datetime, lease_s: float
) -> Attempt:
    # The claim time is not stored; the lease it took ends `lease_s` after it
    # (exact when the dead dispatcher had the same DELIVERY_LEASE_S).
    started_at = min(lease_ended - timedelta(seconds=lease_s), now)
    return Attempt(
        notification_id=notification_id,
        started_at=started_at,
        finished_at=now,
        outcome=Outcome.UNAVAILABLE,
        http_status=None,
        error=(
            "No result was recorded: the dispatcher that claimed this notification "
            f"stopped before its lease expired at {lease_ended.isoformat()}."
        ),
        provider_message_id=None,
        duration_ms=round((now - started_at).total_seconds() * 1000),
    )


_now = bindparam("b_now", type_=UTCDateTime())
_RELEASE = (
    update(notifications)
    .where(
        _n.id == bindparam("b_id"),
        _n.status == Status.SENDING,
        _n.version == bindparam("b_version"),
        _n.delivery_key == bindparam("b_key"),
    )
    .values(
        status=Status.PENDING,
        lease_expires_at=None,
        next_attempt_at=_now,
        attempts=_n.attempts - 1,
        version=_n.version + 1,
        updated_at=_now,
    )
)


def release(connection: Connection, claims: Sequence[tuple[int, int, str]], now: datetime) -> int:
    """sending → pending, due now, the attempt not counted: claims that were not sent.

    `claims` are (id, claimed version, delivery key) triples; a compare-and-set
    like a result, so a claim that was taken back meanwhile is not touched. Returns how many were
    released. The wake-up trigger (migration 0004) sends NOTIFY for them, so
    another dispatcher may take them at once.
    """
    if not claims:
        return 0
    parameters = [
        {"b_id": id_, "b_version": version, "b_key": key, "b_now": now}
        for id_, version, key in claims
    ]
    return connection.execute(_RELEASE, parameters).rowcount


_NEXT_DUE_TIMES = select(
    select(func.min(_n.next_attempt_at)).where(_n.status == Status.PENDING).scalar_subquery(),
    select(func.min(_n.lease_expires_at)).where(_n.status == Status.SENDING).scalar_subquery(),
)


def next_due_times(connection: Connection) -> tuple[datetime | None, datetime | None]:
    """When the next pending row is due and the next lease expires (None: nothing).

    Both come from the partial indexes, so asking is cheap.
    """
    next_due, next_expiry = connection.execute(_NEXT_DUE_TIMES).one()
    return next_due, next_expiry
