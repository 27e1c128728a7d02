"""The dispatcher's queue: claim work, record results, give back what was not sent.

Each method is one short transaction that calls the state machine
(`notifications.lifecycle`) and turns its rows into `Claim`s, counts and log
lines. No connection is held between transactions, and none while the delivery
service is called. `with_db_retry` runs a write again while the database is
unreachable.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import InterfaceError, OperationalError

from notifier.database import utcnow
from notifier.notifications.lifecycle import Attempt, Status, claims, results
from notifier.observability.metrics import record_delivery
from notifier.suppressions import tokens
from notifier.suppressions.entries import suppress_targets
from notifier.suppressions.models import Reason
from notifier.worker.answers import REJECTED_TARGET
from notifier.worker.client import DeliveryRequest, DeliveryResult
from notifier.worker.policy import Settings, new_state

log = logging.getLogger(__name__)

# Worth trying again: the connection was lost, the server is restarting, a
# deadlock or serialisation failure.
RETRYABLE = (OperationalError, InterfaceError)


@dataclass(frozen=True)
class Claim:
    """One claimed notification: its identity at claim time and what to send."""

    id: int
    version: int  # the version the claim wrote; the result is written only if it still holds
    attempts: int  # attempts made, including this one
    request: DeliveryRequest
    lease_deadline: float = float("inf")  # time.monotonic() when the lease runs out


class DeliveryQueue:
    """The notifications table seen as a queue of claims, for one dispatcher."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        on_retry: Callable[[datetime, datetime], None] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self._on_retry = on_retry  # told (due, now) of every retry that was recorded
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def claim(self, limit: int, now: datetime | None = None) -> list[Claim]:
        """Claim up to `limit` notifications: expired leases first, then due ones.

        One transaction, committed before anything is sent: no row lock or
        connection is held while the delivery service is called.
        """
        now = now or utcnow()
        lease_until = now + timedelta(seconds=self.settings.lease_s)
        lease_deadline = time.monotonic() + self.settings.lease_s
        with self.engine.begin() as connection:
            reclaimed = claims.reclaim_expired(
                connection,
                limit,
                now,
                lease_until,
                lease_s=self.settings.lease_s,
                max_attempts=self.settings.max_attempts,
            )
            rows = list(reclaimed.rows)
            if len(rows) < limit:
                rows += claims.claim_due(connection, limit - len(rows), now, lease_until)
        if reclaimed.rows or reclaimed.failed:
            log.warning(
                "took back %d notification(s) with expired leases (%d failed: attempts used up)",
                len(reclaimed.rows) + reclaimed.failed,
                reclaimed.failed,
            )
            self.count("reclaimed", len(reclaimed.rows))
            self.count(Status.FAILED.value, reclaimed.failed)
        self.count("claimed", len(rows))
        return [
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
                    sandbox=row.sandbox,
                    list_unsubscribe=self._unsubscribe_link(row),
                ),
                lease_deadline=lease_deadline,
            )
            for row in rows
        ]

    def _unsubscribe_link(self, row) -> str | None:
        if not row.unsubscribe:
            return None
        config = {
            "PUBLIC_BASE_URL": self.settings.public_base_url,
            "SECRET_KEY": self.settings.unsubscribe_secret,
        }
        link = tokens.link(config, row.user_id, row.channel, row.target, True, row.sandbox)
        return tokens.header_link(link)

    def record(self, claim: Claim, result: DeliveryResult, now: datetime | None = None) -> bool:
        """Write one attempt's result; False when it was dropped (see `record_many`)."""
        return self.record_many([(claim, result)], now)[0]

    def record_many(
        self, outcomes: Sequence[tuple[Claim, DeliveryResult]], now: datetime | None = None
    ) -> list[bool]:
        """Write the results of several attempts in one transaction.

        Each is a compare-and-set on the claimed version and the try's idempotency
        key: if the row was deleted, or another dispatcher took it back after our
        lease expired, nothing is overwritten and its entry in the returned list
        is False. The attempt itself is still added to the history of a row that
        exists (it happened), but not to a deleted one.
        """
        if not outcomes:
            return []
        now = now or utcnow()
        batch = [
            results.Result(
                id=claim.id,
                claimed_version=claim.version,
                delivery_key=claim.request.idempotency_key,
                new_state=new_state(claim.attempts, result, self.settings),
                attempt=Attempt(
                    notification_id=claim.id,
                    started_at=result.started_at,
                    finished_at=result.finished_at,
                    outcome=result.outcome,
                    http_status=result.http_status,
                    error=result.error,
                    provider_message_id=result.provider_message_id,
                    duration_ms=result.duration_ms,
                ),
            )
            for claim, result in outcomes
        ]
        with self.engine.begin() as connection:
            recorded = results.record_results(connection, batch, now)
            # A recipient the provider refused is suppressed with the failure it causes.
            suppress_targets(
                connection,
                [
                    claim.id
                    for claim, result in outcomes
                    if result.rejected_kind == REJECTED_TARGET
                    and (claim.id, claim.version, claim.request.idempotency_key) in recorded.applied
                ],
                Reason.REJECTED,
            )
        done = []
        for (claim, result), written in zip(outcomes, batch, strict=True):
            record_delivery(claim.request.channel, result.outcome, result.duration_ms / 1000)
            ok = (claim.id, claim.version, claim.request.idempotency_key) in recorded.applied
            done.append(ok)
            status = written.new_state.status
            if ok:
                self.count("retried" if status == Status.PENDING else status.value)
                if status == Status.PENDING and self._on_retry is not None:
                    self._on_retry(written.new_state.next_attempt_at, now)
                continue
            self.count("dropped")
            if claim.id in recorded.existing:
                log.warning(
                    "notification %s changed while in flight (lease expired and taken "
                    "back); %s result not applied",
                    claim.id,
                    result.outcome,
                )
            else:
                log.info(
                    "notification %s was deleted while in flight; %s result dropped",
                    claim.id,
                    result.outcome,
                )
        return done

    def release(self, claimed: Iterable[Claim]) -> int:
        """Give unsent claims back (`pending`, due now, the attempt not counted).

        A claim that was taken back meanwhile is not touched. Returns how many
        were released.
        """
        tries = [(claim.id, claim.version, claim.request.idempotency_key) for claim in claimed]
        if not tries:
            return 0
        with self.engine.begin() as connection:
            released = claims.release(connection, tries, utcnow())
        self.count("released", released)
        if released:
            log.info("released %d claimed but unsent notification(s)", released)
        return released

    def next_due_times(self) -> tuple[datetime | None, datetime | None]:
        """When the next pending row is due and the next lease expires."""
        with self.engine.connect() as connection:
            return claims.next_due_times(connection)

    def count(self, what: str, n: int = 1) -> None:
        if n:
            with self._lock:
                self.counts[what] += n


def with_db_retry(
    call: Callable[[], Any],
    what: str,
    ids: list[int],
    settings: Settings,
    stopping: Callable[[], bool] = lambda: False,
) -> bool | None:
    """Run a short write, retrying while the database is unreachable (within the lease).

    True when it succeeded; None when the database stayed unreachable; False on
    an error that retrying cannot fix (bad data, a bug). Giving up is safe: the
    rows stay `sending` and are taken back when their lease expires; the repeat
    carries the same idempotency key.
    """
    deadline = time.monotonic() + settings.lease_s * 0.8
    for delay in (*settings.db_retry_delays_s, None):
        try:
            call()
            return True
        except RETRYABLE as error:
            if delay is None or time.monotonic() + delay > deadline or stopping():
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
