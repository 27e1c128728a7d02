"""The dispatcher: claims due notifications and hands them to the delivery service.

One loop per process claims work, a pool of sender threads calls the delivery
service, and one recorder thread writes the results. The life of one try:

1. **Claim** (main thread, one short transaction): due `pending` rows become
   `sending` with a lease (`lease_expires_at = now + DELIVERY_LEASE_S`),
   `attempts + 1` and `version + 1`. On PostgreSQL the rows are picked with
   `FOR UPDATE SKIP LOCKED`, so dispatchers on any number of hosts never claim
   the same row; SQLite serialises writers, so the same statement is safe there.
   Rows left in `sending` by a dispatcher that died are taken back once their
   lease has expired.
2. **Send** (a sender thread, no database connection held): `POST /deliver`
   with the row's `delivery_key` as the idempotency key, so a repeat after a
   lost answer or an expired lease is recognised by the provider.
3. **Record** (the recorder thread, one short transaction for every result
   that is ready): a compare-and-set on `(id, status='sending', version=claimed
   version)` writes each outcome, and attempt rows are added. If a row was
   deleted, or taken back by another dispatcher after our lease ran out, its
   compare-and-set matches nothing and the result overwrites nothing.

Retries use exponential backoff with "equal jitter" (see `backoff_delay`).
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from notifier.database import UTCDateTime, utcnow
from notifier.notifications.models import DeliveryAttempt, Notification
from notifier.observability.logs import notification_context
from notifier.observability.metrics import record_delivery
from notifier.webhooks.outbox import enqueue_notification_events, event_for_status
from notifier.worker.client import DeliveryClient, DeliveryRequest, DeliveryResult
from notifier.worker.wakeup import Waiter

log = logging.getLogger(__name__)

notifications = Notification.__table__
attempts_table = DeliveryAttempt.__table__

# Exponents beyond this overflow nothing but mean "the cap" anyway.
MAX_BACKOFF_EXPONENT = 30
# Backoff while the database is unreachable (claiming or recording).
DB_RETRY_DELAYS_S = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
# Most results written in one transaction by the recorder.
RECORD_BATCH = 200

_RESULT_FIELDS = ("status", "sent_at", "provider_message_id", "error_message", "next_attempt_at")
_ATTEMPT_FIELDS = (
    "notification_id",
    "started_at",
    "finished_at",
    "outcome",
    "http_status",
    "error",
    "provider_message_id",
    "duration_ms",
)

# --- statements ---------------------------------------------------------------------
#
# PostgreSQL writes a whole batch of results with one UPDATE and one INSERT fed by
# arrays (`unnest`): one statement (and one run of the notification_counts trigger)
# per batch instead of per delivery. SQLite runs the same logic row by row inside
# one transaction, with statements built once so their cache keys are computed once.

RECORD_RESULTS_PG = text(
    """
    UPDATE notifications AS n SET
        status = v.status,
        sent_at = v.sent_at,
        provider_message_id = v.provider_message_id,
        error_message = v.error_message,
        next_attempt_at = coalesce(v.next_attempt_at, n.next_attempt_at),
        lease_expires_at = NULL,
        version = n.version + 1,
        updated_at = :now
    FROM unnest(
        CAST(:ids AS bigint[]), CAST(:versions AS integer[]), CAST(:status AS varchar[]),
        CAST(:sent_at AS timestamptz[]), CAST(:provider_message_id AS varchar[]),
        CAST(:error_message AS text[]), CAST(:next_attempt_at AS timestamptz[])
    ) AS v(id, version, status, sent_at, provider_message_id, error_message, next_attempt_at)
    WHERE n.id = v.id AND n.status = 'sending' AND n.version = v.version
    RETURNING n.id, n.version - 1 AS claimed_version
    """
)

INSERT_ATTEMPTS_PG = text(
    """
    INSERT INTO delivery_attempts (notification_id, number, started_at, finished_at, outcome,
                                   http_status, error, provider_message_id, duration_ms)
    SELECT v.notification_id,
           coalesce((SELECT max(a.number) FROM delivery_attempts AS a
                     WHERE a.notification_id = v.notification_id), 0)
             + row_number() OVER (PARTITION BY v.notification_id ORDER BY v.ord),
           v.started_at, v.finished_at, v.outcome, v.http_status, v.error,
           v.provider_message_id, v.duration_ms
    FROM unnest(
        CAST(:notification_id AS bigint[]), CAST(:started_at AS timestamptz[]),
        CAST(:finished_at AS timestamptz[]), CAST(:outcome AS varchar[]),
        CAST(:http_status AS integer[]), CAST(:error AS text[]),
        CAST(:provider_message_id AS varchar[]), CAST(:duration_ms AS integer[])
    ) WITH ORDINALITY AS v(notification_id, started_at, finished_at, outcome, http_status,
                           error, provider_message_id, duration_ms, ord)
    """
)

RECORD_RESULT = (
    update(notifications)
    .where(
        notifications.c.id == bindparam("b_id"),
        notifications.c.status == "sending",
        notifications.c.version == bindparam("b_version"),
    )
    .values(
        status=bindparam("b_status"),
        sent_at=bindparam("b_sent_at", type_=UTCDateTime()),
        provider_message_id=bindparam("b_provider_message_id"),
        error_message=bindparam("b_error_message"),
        next_attempt_at=func.coalesce(
            bindparam("b_next_attempt_at", type_=UTCDateTime()), notifications.c.next_attempt_at
        ),
        lease_expires_at=None,
        version=notifications.c.version + 1,
        updated_at=bindparam("b_now", type_=UTCDateTime()),
    )
)

INSERT_ATTEMPT = insert(attempts_table).values(
    notification_id=bindparam("b_notification_id"),
    number=(
        select(func.coalesce(func.max(attempts_table.c.number), 0) + 1)
        .where(attempts_table.c.notification_id == bindparam("b_notification_id"))
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


@dataclass(frozen=True)
class Settings:
    """The dispatcher's knobs, read from the app config (`DELIVERY_*`)."""

    service_url: str
    timeout_s: float = 10.0
    max_attempts: int = 5
    backoff_base_s: float = 2.0
    backoff_max_s: float = 300.0
    lease_s: float = 60.0
    concurrency: int = 32
    batch_size: int = 64
    poll_interval_s: float = 1.0
    idempotency_key_ttl_s: float = 86_400.0
    purge_every_s: float = 600.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **overrides: Any) -> Settings:
        """Settings from a Flask config; `overrides` that are None are ignored."""
        known = {field.name for field in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown dispatcher settings: {sorted(unknown)}")
        settings = cls(
            service_url=config["DELIVERY_SERVICE_URL"],
            timeout_s=float(config["DELIVERY_TIMEOUT_S"]),
            max_attempts=int(config["DELIVERY_MAX_ATTEMPTS"]),
            backoff_base_s=float(config["DELIVERY_BACKOFF_BASE_S"]),
            backoff_max_s=float(config["DELIVERY_BACKOFF_MAX_S"]),
            lease_s=float(config["DELIVERY_LEASE_S"]),
            concurrency=int(config["DELIVERY_CONCURRENCY"]),
            batch_size=int(config["DELIVERY_BATCH_SIZE"]),
            poll_interval_s=float(config["DELIVERY_POLL_INTERVAL_S"]),
            idempotency_key_ttl_s=float(config["IDEMPOTENCY_KEY_TTL_S"]),
        )
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.batch_size < 1 or self.max_attempts < 1:
            raise ValueError("concurrency, batch_size and max_attempts must be at least 1")
        if self.lease_s <= self.timeout_s:
            # A lease shorter than one request would let a second dispatcher take a row
            # back while the first is still waiting for its answer.
            log.warning(
                "DELIVERY_LEASE_S (%g) should be longer than DELIVERY_TIMEOUT_S (%g)",
                self.lease_s,
                self.timeout_s,
            )


@dataclass(frozen=True)
class Claim:
    """One claimed notification: its identity at claim time and what to send."""

    id: int
    version: int  # the version the claim wrote; the result is written only if it still holds
    attempts: int  # attempts made, including this one
    request: DeliveryRequest
    lease_deadline: float = float("inf")  # time.monotonic() when the lease runs out


def backoff_delay(
    attempts: int,
    base_s: float,
    max_s: float,
    retry_after_s: float | None = None,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before the next try, after `attempts` tries have failed.

    Exponential: the ceiling is `base_s * 2**(attempts - 1)`, capped at `max_s`.
    Equal jitter: the delay is uniform in `[ceiling/2, ceiling]`, so retries
    of many notifications that failed together spread out, yet each still waits
    at least half its ceiling (full jitter could retry almost at once, which is
    no backoff at all for an overloaded provider). A `Retry-After` from the
    provider is a minimum, itself capped at `max_s` so that no answer can park a
    notification for longer than the operator allows.
    """
    exponent = min(max(attempts, 1) - 1, MAX_BACKOFF_EXPONENT)
    ceiling = min(max_s, base_s * (2**exponent))
    delay = ceiling / 2 + rand() * ceiling / 2
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, max_s))
    return delay


def _internal_error(error: BaseException, started_at: datetime) -> DeliveryResult:
    """A result for a try that failed inside the dispatcher (a bug or unsendable data)."""
    now = utcnow()
    text_ = f"{type(error).__name__}: {error}"[:500]
    return DeliveryResult(
        outcome="unavailable",
        started_at=started_at,
        finished_at=now,
        duration_ms=max(0, round((now - started_at).total_seconds() * 1000)),
        error=f"The dispatcher could not send this notification ({text_}).",
    )


_STOP = object()  # tells the recorder thread to finish


class Dispatcher:
    """Claims due notifications, sends them concurrently, records every attempt.

    `run()` is the long-running loop (the `worker` command); `claim()`,
    `send()`, `record()`/`record_many()`, `release()` and `dispatch_due()` are
    its steps, usable one by one (tests use them to stage races).
    """

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        client: DeliveryClient | None = None,
        waiter: Waiter | None = None,
        purge: Callable[[datetime], Any] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.client = client or DeliveryClient(
            settings.service_url, settings.timeout_s, pool_size=settings.concurrency
        )
        self.waiter = waiter or Waiter(engine)
        self._purge = purge
        self._postgres = engine.dialect.name == "postgresql"
        self._stopping = False  # a plain flag: set from a signal handler, read by threads
        # Guards `_outstanding`, `_queued` and `counts`; the main loop waits on it for room.
        self._slots = threading.Condition(threading.Lock())
        # Claims in hand: queued for a sender, being sent, or waiting to be recorded.
        self._outstanding = 0
        self._queued: dict[int, tuple[Future, Claim]] = {}  # by id, until a sender is done
        self._results: queue.SimpleQueue = queue.SimpleQueue()
        self.counts: Counter[str] = Counter()
        self._last_purge = float("-inf")

    # --- claim --------------------------------------------------------------------

    _RETURNED = (
        notifications.c.id,
        notifications.c.version,
        notifications.c.attempts,
        notifications.c.delivery_key,
        notifications.c.channel,
        notifications.c.target,
        notifications.c.title,
        notifications.c.content,
    )

    def claim(self, limit: int, now: datetime | None = None) -> list[Claim]:
        """Claim up to `limit` notifications: expired leases first, then due ones.

        One transaction, committed before anything is sent: no row lock or
        connection is held while the delivery service is called.
        """
        now = now or utcnow()
        lease_until = now + timedelta(seconds=self.settings.lease_s)
        lease_deadline = time.monotonic() + self.settings.lease_s
        with self.engine.begin() as connection:
            claimed = self._reclaim_expired(connection, limit, now, lease_until)
            if len(claimed) < limit:
                claimed += self._claim_due(connection, limit - len(claimed), now, lease_until)
        claims = [
            Claim(
                id=row.id,
                version=row.version,
                attempts=row.attempts,
                request=DeliveryRequest(
                    notification_id=row.id,
                    idempotency_key=row.delivery_key,
                    channel=row.channel,
                    target=row.target,
                    title=row.title,
                    content=row.content,
                ),
                lease_deadline=lease_deadline,
            )
            for row in claimed
        ]
        self._count("claimed", len(claims))
        return claims

    def _claim_due(
        self, connection: Connection, limit: int, now: datetime, lease_until: datetime
    ) -> list[Row]:
        """Mark due `pending` rows `sending`.

        The CTE walks the partial index `ix_notifications_due` in
        `next_attempt_at` order and locks what it returns; `SKIP LOCKED` steps
        over rows that another dispatcher is claiming or an edit is updating,
        instead of waiting for them. A row updated after our snapshot is
        re-checked against the WHERE clause when locked (PostgreSQL's
        EvalPlanQual), so an edit committed before the claim is claimed with its
        new content and version. SQLite renders no `FOR UPDATE`: the statement
        runs under its single writer lock, which gives the same guarantee.
        """
        due = (
            select(notifications.c.id)
            .where(notifications.c.status == "pending", notifications.c.next_attempt_at <= now)
            .order_by(notifications.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("due")
            # A CTE, not `id IN (subquery)`: PostgreSQL may rescan an IN subquery once
            # per outer row (a nested-loop semi-join), and each rescan locks and
            # returns further rows, so the claim would ignore its LIMIT. A
            # materialised CTE is evaluated exactly once.
            .prefix_with("MATERIALIZED", dialect="postgresql")
        )
        statement = (
            update(notifications)
            .where(notifications.c.id == due.c.id, notifications.c.status == "pending")
            .values(
                status="sending",
                lease_expires_at=lease_until,
                attempts=notifications.c.attempts + 1,
                version=notifications.c.version + 1,
                updated_at=now,
            )
            .returning(*self._RETURNED)
        )
        return list(connection.execute(statement))

    def _reclaim_expired(
        self, connection: Connection, limit: int, now: datetime, lease_until: datetime
    ) -> list[Row]:
        """Take back rows whose dispatcher died (lease expired), through `ix_notifications_lease`.

        The lost try is recorded as an attempt whose result is unknown. A row
        that already used its last attempt is failed rather than sent again.
        The updates repeat the lease condition, so on SQLite (no row locks) a
        row that someone else took back in between is left alone.
        """
        expired = connection.execute(
            select(notifications.c.id, notifications.c.lease_expires_at)
            .where(notifications.c.status == "sending", notifications.c.lease_expires_at < now)
            .order_by(notifications.c.lease_expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if not expired:
            return []
        lost_since = {row.id: row.lease_expires_at for row in expired}
        still_expired = (
            notifications.c.id.in_(list(lost_since)),
            notifications.c.status == "sending",
            notifications.c.lease_expires_at < now,
        )
        max_attempts = self.settings.max_attempts
        exhausted = connection.execute(
            update(notifications)
            .where(*still_expired, notifications.c.attempts >= max_attempts)
            .values(
                status="failed",
                lease_expires_at=None,
                error_message=(
                    f"Gave up after {max_attempts} attempts: the dispatcher making the last "
                    "one stopped before it recorded a result, so whether the provider "
                    "sent it is unknown."
                ),
                version=notifications.c.version + 1,
                updated_at=now,
            )
            .returning(notifications.c.id)
        ).all()
        exhausted_ids = [row.id for row in exhausted]
        reclaimed = connection.execute(
            update(notifications)
            .where(*still_expired, notifications.c.attempts < max_attempts)
            .values(
                lease_expires_at=lease_until,
                attempts=notifications.c.attempts + 1,
                version=notifications.c.version + 1,
                updated_at=now,
            )
            .returning(*self._RETURNED)
        ).all()
        enqueue_notification_events(connection, dict.fromkeys(exhausted_ids, "notification.failed"))
        lost_attempts = []
        for notification_id in [row.id for row in exhausted] + [row.id for row in reclaimed]:
            lease_ended = lost_since[notification_id]
            # The claim time is not stored; the lease it took ends `lease_s` after it
            # (exact when the dead dispatcher had the same DELIVERY_LEASE_S).
            started_at = min(lease_ended - timedelta(seconds=self.settings.lease_s), now)
            lost_attempts.append(
                {
                    "notification_id": notification_id,
                    "started_at": started_at,
                    "finished_at": now,
                    "outcome": "unavailable",
                    "http_status": None,
                    "error": (
                        "No result was recorded: the dispatcher that claimed this notification "
                        f"stopped before its lease expired at {lease_ended.isoformat()}."
                    ),
                    "provider_message_id": None,
                    "duration_ms": round((now - started_at).total_seconds() * 1000),
                }
            )
        self._insert_attempts(connection, lost_attempts)
        if lost_attempts:
            log.warning(
                "took back %d notification(s) with expired leases (%d failed: attempts used up)",
                len(lost_attempts),
                len(exhausted),
            )
            self._count("reclaimed", len(reclaimed))
            self._count("failed", len(exhausted))
        return reclaimed

    # --- send and record --------------------------------------------------------

    def send(self, claim: Claim) -> DeliveryResult:
        """Call the delivery service for one claim; never raises."""
        started_at = utcnow()
        with notification_context(claim.id):
            try:
                return self.client.deliver(claim.request)
            except Exception as error:
                # A poison notification (unsendable data, or a bug): it must not take the
                # others down. It is retried with backoff like an outage, and fails for good
                # once its attempts are used up.
                log.exception("notification %s: could not be sent", claim.id)
                return _internal_error(error, started_at)

    def record(self, claim: Claim, result: DeliveryResult, now: datetime | None = None) -> bool:
        """Write one attempt's result; False when it was dropped (see `record_many`)."""
        return self.record_many([(claim, result)], now)[0]

    def record_many(
        self, outcomes: Sequence[tuple[Claim, DeliveryResult]], now: datetime | None = None
    ) -> list[bool]:
        """Write the results of several attempts in one transaction.

        Each update is a compare-and-set on the claimed version: if the row was
        deleted, or another dispatcher took it back after our lease expired,
        nothing is overwritten and its entry in the returned list is False. The
        attempt itself is still added to the history of a row that exists (it
        happened), but not to a deleted one.
        """
        if not outcomes:
            return []
        now = now or utcnow()
        values = [self._result_values(claim, result) for claim, result in outcomes]
        with self.engine.begin() as connection:
            # An applied update also locks its row until commit: a concurrent delete
            # waits, so the attempt inserted below cannot lose its parent row.
            applied = self._apply_results(connection, outcomes, values, now)
            # Webhook events, in this transaction (the lead moves this into lifecycle.py).
            enqueue_notification_events(
                connection,
                {
                    claim.id: event_for_status(value["status"])
                    for (claim, _), value in zip(outcomes, values, strict=True)
                    if (claim.id, claim.version) in applied
                },
            )
            missing = [c.id for c, _ in outcomes if (c.id, c.version) not in applied]
            existing = {c.id for c, _ in outcomes if (c.id, c.version) in applied}
            if missing:
                # Lock the rows still there, so that our attempt numbers cannot collide
                # with those their new claimer is recording.
                existing |= set(
                    connection.execute(
                        select(notifications.c.id)
                        .where(notifications.c.id.in_(missing))
                        .with_for_update()
                    ).scalars()
                )
            self._insert_attempts(
                connection,
                [
                    {
                        "notification_id": claim.id,
                        "started_at": result.started_at,
                        "finished_at": result.finished_at,
                        "outcome": result.outcome,
                        "http_status": result.http_status,
                        "error": result.error,
                        "provider_message_id": result.provider_message_id,
                        "duration_ms": result.duration_ms,
                    }
                    for claim, result in outcomes
                    if claim.id in existing
                ],
            )
        done = []
        for (claim, result), value in zip(outcomes, values, strict=True):
            record_delivery(claim.request.channel, result.outcome, result.duration_ms / 1000)
            ok = (claim.id, claim.version) in applied
            done.append(ok)
            if ok:
                status = value["status"]
                self._count("retried" if status == "pending" else status)
                if status == "pending":
                    self._note_retry(value["next_attempt_at"], now)
            elif claim.id in existing:
                log.warning(
                    "notification %s changed while in flight (lease expired and taken "
                    "back); %s result not applied",
                    claim.id,
                    result.outcome,
                )
                self._count("dropped")
            else:
                log.info(
                    "notification %s was deleted while in flight; %s result dropped",
                    claim.id,
                    result.outcome,
                )
                self._count("dropped")
        return done

    def _apply_results(
        self,
        connection: Connection,
        outcomes: Sequence[tuple[Claim, DeliveryResult]],
        values: list[dict[str, Any]],
        now: datetime,
    ) -> set[tuple[int, int]]:
        """Run the compare-and-set updates; return the (id, claimed version) applied."""
        if self._postgres:
            rows = connection.execute(
                RECORD_RESULTS_PG,
                {
                    "now": now,
                    "ids": [claim.id for claim, _ in outcomes],
                    "versions": [claim.version for claim, _ in outcomes],
                    **{name: [value[name] for value in values] for name in _RESULT_FIELDS},
                },
            )
            return {(row.id, row.claimed_version) for row in rows}
        applied = set()
        for (claim, _), value in zip(outcomes, values, strict=True):
            parameters = {f"b_{name}": value[name] for name in _RESULT_FIELDS}
            parameters |= {"b_id": claim.id, "b_version": claim.version, "b_now": now}
            if connection.execute(RECORD_RESULT, parameters).rowcount:
                applied.add((claim.id, claim.version))
        return applied

    def _insert_attempts(self, connection: Connection, attempts: list[dict[str, Any]]) -> None:
        """Add attempts, each numbered one past the highest so far (history survives edits)."""
        if not attempts:
            return
        if self._postgres:
            connection.execute(
                INSERT_ATTEMPTS_PG,
                {name: [attempt[name] for attempt in attempts] for name in _ATTEMPT_FIELDS},
            )
            return
        for attempt in attempts:
            connection.execute(INSERT_ATTEMPT, {f"b_{k}": v for k, v in attempt.items()})

    def _result_values(self, claim: Claim, result: DeliveryResult) -> dict[str, Any]:
        """The new state of a notification after this result."""
        values: dict[str, Any] = dict.fromkeys(_RESULT_FIELDS)  # next_attempt_at None: keep
        if result.outcome == "sent":
            return values | {
                "status": "sent",
                # Our clock, not the provider's: every timestamp of a row then comes from
                # one clock, and sent_at is never before created_at.
                "sent_at": result.finished_at,
                "provider_message_id": result.provider_message_id,
            }
        if result.outcome == "rejected":
            return values | {"status": "failed", "error_message": result.error}
        if claim.attempts >= self.settings.max_attempts:
            return values | {
                "status": "failed",
                "error_message": (
                    f"Delivery failed after {claim.attempts} attempts; the last one: "
                    f"{result.error or 'the delivery service was unavailable.'}"
                ),
            }
        delay = backoff_delay(
            claim.attempts,
            self.settings.backoff_base_s,
            self.settings.backoff_max_s,
            result.retry_after_s,
        )
        return values | {
            "status": "pending",
            "next_attempt_at": result.finished_at + timedelta(seconds=delay),
        }

    def release(self, claims: Iterable[Claim]) -> int:
        """Give unsent claims back (`pending`, due now, the attempt not counted).

        A compare-and-set on the claimed version, like a result: a claim that
        was taken back meanwhile is not touched. Returns how many were released.
        """
        claims = list(claims)
        if not claims:
            return 0
        now = utcnow()
        released = 0
        with self.engine.begin() as connection:
            for claim in claims:
                released += connection.execute(
                    update(notifications)
                    .where(
                        notifications.c.id == claim.id,
                        notifications.c.status == "sending",
                        notifications.c.version == claim.version,
                    )
                    .values(
                        status="pending",
                        lease_expires_at=None,
                        next_attempt_at=now,
                        attempts=notifications.c.attempts - 1,
                        version=notifications.c.version + 1,
                        updated_at=now,
                    )
                ).rowcount
            # The wake-up trigger (migration 0004) sends NOTIFY for the released rows,
            # so another dispatcher may take them at once.
        self._count("released", released)
        if released:
            log.info("released %d claimed but unsent notification(s)", released)
        return released

    def _release_instead(self, claim: Claim) -> bool:
        """Give a claim back instead of sending it, if it should not be sent now."""
        if self._stopping:
            # Shutting down: not sent yet, so give it back rather than start now.
            self._with_db_retry(lambda: self.release([claim]), "release", [claim.id])
            return True
        margin = min(self.settings.timeout_s, self.settings.lease_s / 2)
        if time.monotonic() + margin > claim.lease_deadline:
            # It waited so long in the queue that the request could outlast the lease
            # and race another dispatcher: give it back to be claimed afresh.
            log.warning("notification %s: lease nearly spent before sending; released", claim.id)
            self._with_db_retry(lambda: self.release([claim]), "release", [claim.id])
            return True
        return False

    def deliver(self, claim: Claim) -> None:
        """Send one claim and record its result at once (no recorder thread)."""
        if self._release_instead(claim):
            return
        result = self.send(claim)
        self._with_db_retry(lambda: self.record(claim, result), "record", [claim.id])

    def _with_db_retry(self, call: Callable[[], Any], what: str, ids: list[int]) -> bool | None:
        """Run a short write, retrying while the database is unreachable (within the lease).

        True when it succeeded; None when the database stayed unreachable; False
        on an error that retrying cannot fix (bad data, a bug). Giving up is
        safe: the rows stay `sending` and are taken back when their lease
        expires; the repeat carries the same idempotency key.
        """
        deadline = time.monotonic() + self.settings.lease_s * 0.8
        for delay in (*DB_RETRY_DELAYS_S, None):
            try:
                call()
                return True
            except (OperationalError, InterfaceError) as error:
                # Connection lost, server restarting, deadlock, serialisation failure.
                if delay is None or time.monotonic() + delay > deadline or self._stopping:
                    log.error(
                        "could not %s notification(s) %s (%s); their leases will expire "
                        "and they will be retried",
                        what,
                        ids,
                        error,
                    )
                    return None
                log.warning("%s failed (%s); retrying in %g s", what, type(error).__name__, delay)
                time.sleep(delay)
            except Exception:
                log.exception("%s of notification(s) %s failed", what, ids)
                return False
        return None  # unreachable: the last delay is None

    # --- the loop ---------------------------------------------------------------

    def stop(self) -> None:
        """Stop claiming; `run()` returns once in-flight sends are recorded.

        Safe to call from a signal handler: it sets a flag and writes one byte.
        """
        self._stopping = True
        self.waiter.wake()

    @property
    def stopping(self) -> bool:
        return self._stopping

    def dispatch_due(self, limit: int | None = None) -> int:
        """Claim one batch, send it concurrently, record it; return how many were claimed."""
        claims = self.claim(limit or self.settings.batch_size)
        if not claims:
            return 0
        with ThreadPoolExecutor(max_workers=min(len(claims), self.settings.concurrency)) as pool:
            to_send = [claim for claim in claims if not self._release_instead(claim)]
            results = list(pool.map(self.send, to_send))
        self._with_db_retry(
            lambda: self.record_many(list(zip(to_send, results, strict=True))),
            "record",
            [claim.id for claim in to_send],
        )
        return len(claims)

    def run(self, once: bool = False) -> None:
        """Deliver until `stop()` (or, with `once`, until nothing is due).

        `concurrency` sender threads call the delivery service; up to
        `batch_size` more claims wait in their queue, so a sender that finishes
        starts its next request at once instead of waiting for the next claim.
        The loop claims again when there is room for half a batch, so each claim
        carries many rows. When a claim came back full, more may be due: claim
        again without sleeping. Otherwise sleep until a `NOTIFY`, the next known
        due time, or the poll interval, whichever comes first.
        """
        settings = self.settings
        capacity = settings.concurrency + settings.batch_size
        low_water = max(1, settings.batch_size // 2)
        self.waiter.start()
        pool = ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix="send")
        recorder = threading.Thread(target=self._record_loop, name="record", daemon=True)
        recorder.start()
        db_failures = 0
        log.info(
            "dispatcher started: %s, concurrency %d, batch %d, lease %gs, %s",
            settings.service_url,
            settings.concurrency,
            settings.batch_size,
            settings.lease_s,
            "LISTEN/NOTIFY"
            if self.waiter.listening
            else f"polling every {settings.poll_interval_s:g}s",
        )
        try:
            while not self._stopping:
                self._maybe_purge()
                room = self._wait_for_room(capacity, low_water)
                if self._stopping:
                    break
                wanted = min(room, settings.batch_size)
                # Consume wake-ups first: one arriving after this line means a row
                # committed after the claim's snapshot may be due, and wakes the sleep.
                self.waiter.drain()
                try:
                    claims = self.claim(wanted)
                except Exception as error:
                    # The database is down (or a bug): keep the process alive, back off,
                    # and try again; nothing is lost, the rows wait in the table.
                    delay = DB_RETRY_DELAYS_S[min(db_failures, len(DB_RETRY_DELAYS_S) - 1)]
                    db_failures += 1
                    if isinstance(error, SQLAlchemyError):
                        log.error("claim failed (%s); retrying in %g s", error, delay)
                    else:
                        log.exception("claim failed; retrying in %g s", delay)
                    self.waiter.wait(delay)
                    continue
                db_failures = 0
                for claim in claims:
                    self._submit(pool, claim)
                if len(claims) == wanted:
                    continue
                if once:
                    if not claims and self._wait_until_idle():
                        break
                    continue
                self.waiter.wait(self._idle_timeout())
        except Exception:
            log.exception("dispatcher loop crashed")
            raise
        finally:
            self._shutdown(pool, recorder)

    def _shutdown(self, pool: ThreadPoolExecutor, recorder: threading.Thread) -> None:
        """Stop claiming, give back what waits in the queue, let in-flight sends finish.

        Each in-flight send is bounded by the timeout; its result is recorded as
        usual before the recorder thread is told to finish.
        """
        self._stopping = True
        with self._slots:
            queued = list(self._queued.values())
        pool.shutdown(wait=False, cancel_futures=True)
        unsent = [claim for future, claim in queued if future.cancelled()]
        if unsent:
            self._with_db_retry(lambda: self.release(unsent), "release", [c.id for c in unsent])
            self._done(len(unsent))
        pool.shutdown(wait=True)
        self._results.put(_STOP)
        recorder.join()
        self.waiter.close()
        self.client.close()
        log.info("dispatcher stopped: %s", dict(self.counts))

    def _submit(self, pool: ThreadPoolExecutor, claim: Claim) -> None:
        # Submitted under the lock: the task's own bookkeeping (in its `finally`) waits
        # for it, so it cannot finish before it is registered.
        with self._slots:
            self._outstanding += 1
            self._queued[claim.id] = (pool.submit(self._send_in_slot, claim), claim)

    def _send_in_slot(self, claim: Claim) -> None:
        """A sender thread's job: send, then hand the result to the recorder."""
        queued = False
        try:
            if not self._release_instead(claim):
                self._results.put((claim, self.send(claim)))
                queued = True
        except Exception:  # send() handles its own errors; this is the last guard
            log.exception("notification %s: unexpected error", claim.id)
        finally:
            with self._slots:
                self._queued.pop(claim.id, None)
            if not queued:
                self._done(1)

    def _record_loop(self) -> None:
        """The recorder thread: write whatever results are ready, one transaction each time.

        Batching is free of waiting: it takes what has piled up while the last
        transaction ran. While the database is down the batch is retried (within
        the lease) and the claims stay outstanding, so the main loop stops
        claiming more.
        """
        finishing = False
        while not finishing:
            first = self._results.get()
            if first is _STOP:
                break
            batch = [first]
            while len(batch) < RECORD_BATCH:
                try:
                    item = self._results.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    finishing = True
                    break
                batch.append(item)
            try:
                ok = self._with_db_retry(
                    lambda batch=batch: self.record_many(batch),
                    "record",
                    [claim.id for claim, _ in batch],
                )
                if ok is False and len(batch) > 1:
                    # One bad result must not sink the others: write them one by one.
                    for claim, result in batch:
                        self._with_db_retry(
                            lambda c=claim, r=result: self.record(c, r), "record", [claim.id]
                        )
            finally:
                self._done(len(batch))

    def _done(self, n: int) -> None:
        with self._slots:
            self._outstanding -= n
            self._slots.notify_all()

    def _wait_for_room(self, capacity: int, low_water: int) -> int:
        """Block until at least `low_water` more claims fit; return how many fit."""
        with self._slots:
            while capacity - self._outstanding < low_water and not self._stopping:
                # A timeout, because a signal handler cannot notify this condition.
                self._slots.wait(0.5)
            return capacity - self._outstanding

    def _wait_until_idle(self) -> bool:
        """For `--once`: wait for outstanding claims; True if none were left."""
        with self._slots:
            if self._outstanding == 0:
                return True
            while self._outstanding and not self._stopping:
                self._slots.wait(0.5)
            return False

    def _idle_timeout(self) -> float:
        """Sleep until the earliest known due time, at most the poll interval.

        The database knows when the next scheduled or retried row is due and when
        the next lease expires (both from the partial indexes, so it is cheap).
        """
        timeout = self.settings.poll_interval_s
        try:
            with self.engine.connect() as connection:
                earliest = connection.execute(
                    select(
                        select(func.min(notifications.c.next_attempt_at))
                        .where(notifications.c.status == "pending")
                        .scalar_subquery(),
                        select(func.min(notifications.c.lease_expires_at))
                        .where(notifications.c.status == "sending")
                        .scalar_subquery(),
                    )
                ).one()
        except Exception:  # the database is down: poll; the claim will log it
            return timeout
        now = utcnow()
        for when in earliest:
            if when is not None:
                timeout = min(timeout, (when - now).total_seconds() + 0.001)
        return max(0.0, timeout)

    def _note_retry(self, due: datetime, now: datetime) -> None:
        """A retry due before the next poll: wake the loop so it re-reads the due times."""
        if (due - now).total_seconds() < self.settings.poll_interval_s:
            self.waiter.wake()

    def _maybe_purge(self) -> None:
        """Every `purge_every_s`, delete idempotency keys older than their TTL."""
        if self._purge is None:
            return
        if time.monotonic() - self._last_purge < self.settings.purge_every_s:
            return
        self._last_purge = time.monotonic()
        cutoff = utcnow() - timedelta(seconds=self.settings.idempotency_key_ttl_s)
        try:
            purged = self._purge(cutoff)
        except Exception as error:
            log.warning("purging expired idempotency keys failed: %s", error)
            return
        if purged:
            log.info("purged %s expired idempotency key(s)", purged)

    def _count(self, what: str, n: int = 1) -> None:
        if n:
            with self._slots:
                self.counts[what] += n
