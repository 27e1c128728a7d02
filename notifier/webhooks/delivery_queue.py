"""The webhook deliveries' queue in the database: claim, record, release, purge.

Claiming goes through `notifier.claims`, the mechanism the notification queue
uses too. A claimed delivery stays `pending` (the documented statuses are
pending, delivered, failed); the claim moves its `next_attempt_at` to the end
of its lease and counts the attempt. If the worker dies, the row is due again
when the lease ends and another worker takes it: the lost try counts as an
attempt, and a row whose last attempt was lost fails. Results are written with
a compare-and-set on the claimed attempt count, so a result that arrives after
the row was taken back overwrites nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.engine import Engine

from notifier import claims
from notifier.database import UTCDateTime, utcnow
from notifier.webhooks.models import DISABLED_ERROR, DeliveryStatus, Webhook, WebhookDelivery

deliveries = WebhookDelivery.__table__
webhooks = Webhook.__table__

LOST_LAST_TRY = "Gave up: the worker making the last try stopped before it recorded the answer."


@dataclass(frozen=True)
class Job:
    """One claimed delivery: what to send, where, and with which secrets."""

    id: int
    attempts: int  # including this one; the result is written only if it still holds
    event_id: str
    payload: bytes
    url: str
    secrets: tuple[str, ...]  # newest first


@dataclass(frozen=True)
class Outcome:
    """The result of one try, ready to be written."""

    status: str  # pending (retry later), delivered, failed
    finished_at: datetime
    duration_ms: int
    http_status: int | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None


RECORD = (
    update(deliveries)
    .where(
        deliveries.c.id == bindparam("b_id"),
        deliveries.c.status == DeliveryStatus.PENDING,
        deliveries.c.attempts == bindparam("b_attempts"),
    )
    .values(
        status=bindparam("b_status"),
        http_status=bindparam("b_http_status"),
        error=bindparam("b_error"),
        duration_ms=bindparam("b_duration_ms"),
        next_attempt_at=bindparam("b_next_attempt_at", type_=UTCDateTime()),
        delivered_at=bindparam("b_delivered_at", type_=UTCDateTime()),
        lease_expires_at=None,
    )
)


class DeliveryQueue:
    def __init__(self, engine: Engine, max_attempts: int, lease_s: float) -> None:
        self.engine = engine
        self.max_attempts = max_attempts
        self.lease_s = lease_s

    def claim(self, limit: int, now: datetime | None = None) -> list[Job]:
        """Claim up to `limit` due deliveries in one short transaction (nothing held after)."""
        now = now or utcnow()
        lease_until = now + timedelta(seconds=self.lease_s)
        due = (deliveries.c.status == DeliveryStatus.PENDING, deliveries.c.next_attempt_at <= now)
        with self.engine.begin() as connection:
            # Rows whose last allowed try was lost with its worker: failed, not sent again.
            claims.claim_due(
                connection,
                deliveries,
                due=(*due, deliveries.c.attempts >= self.max_attempts),
                order_by=deliveries.c.next_attempt_at,
                limit=limit,
                values={
                    "status": DeliveryStatus.FAILED,
                    "error": LOST_LAST_TRY,
                    "lease_expires_at": None,
                },
                returning=(deliveries.c.id,),
                recheck=due,
            )
            rows = claims.claim_due(
                connection,
                deliveries,
                due=(*due, deliveries.c.attempts < self.max_attempts),
                order_by=deliveries.c.next_attempt_at,
                limit=limit,
                values={
                    "attempts": deliveries.c.attempts + 1,
                    "lease_expires_at": lease_until,
                    "next_attempt_at": lease_until,
                },
                returning=(
                    deliveries.c.id,
                    deliveries.c.webhook_id,
                    deliveries.c.attempts,
                    deliveries.c.event_id,
                    deliveries.c.payload,
                ),
                recheck=due,
            )
            if not rows:
                return []
            targets = {
                hook.id: hook
                for hook in connection.execute(
                    select(webhooks).where(webhooks.c.id.in_({row.webhook_id for row in rows}))
                )
            }
            stopped = [row.id for row in rows if not _enabled(targets.get(row.webhook_id))]
            if stopped:
                # Disabled after the event was written (or while the PATCH raced it).
                connection.execute(
                    update(deliveries)
                    .where(deliveries.c.id.in_(stopped))
                    .values(
                        status=DeliveryStatus.FAILED,
                        error=DISABLED_ERROR,
                        lease_expires_at=None,
                        # Not tried: the claim's count and lease deadline are taken back.
                        attempts=deliveries.c.attempts - 1,
                        next_attempt_at=now,
                    )
                )
        return [
            Job(
                id=row.id,
                attempts=row.attempts,
                event_id=row.event_id,
                payload=row.payload.encode(),
                url=targets[row.webhook_id].url,
                secrets=_secrets(targets[row.webhook_id], now),
            )
            for row in rows
            if row.id not in stopped
        ]

    def record_many(self, results: Sequence[tuple[Job, Outcome]]) -> int:
        """Write results in one transaction; return how many still held their claim."""
        if not results:
            return 0
        parameters = [
            {
                "b_id": job.id,
                "b_attempts": job.attempts,
                "b_status": outcome.status,
                "b_http_status": outcome.http_status,
                "b_error": outcome.error,
                "b_duration_ms": outcome.duration_ms,
                "b_next_attempt_at": outcome.next_attempt_at or outcome.finished_at,
                "b_delivered_at": (
                    outcome.finished_at if outcome.status == DeliveryStatus.DELIVERED else None
                ),
            }
            for job, outcome in results
        ]
        with self.engine.begin() as connection:
            return connection.execute(RECORD, parameters).rowcount

    def release(self, jobs: Sequence[Job], now: datetime | None = None) -> int:
        """Give claimed but unsent jobs back: due now, the attempt not counted."""
        if not jobs:
            return 0
        now = now or utcnow()
        with self.engine.begin() as connection:
            return connection.execute(
                update(deliveries)
                .where(
                    deliveries.c.id == bindparam("b_id"),
                    deliveries.c.status == DeliveryStatus.PENDING,
                    deliveries.c.attempts == bindparam("b_attempts"),
                )
                .values(
                    attempts=deliveries.c.attempts - 1,
                    lease_expires_at=None,
                    next_attempt_at=now,
                ),
                [{"b_id": job.id, "b_attempts": job.attempts} for job in jobs],
            ).rowcount

    def purge(self, older_than: datetime) -> int:
        """Delete finished deliveries created before `older_than` (the log's retention)."""
        with self.engine.begin() as connection:
            return connection.execute(
                delete(deliveries).where(
                    deliveries.c.created_at < older_than,
                    deliveries.c.status != DeliveryStatus.PENDING,
                )
            ).rowcount

    def next_due_in(self, now: datetime | None = None) -> float | None:
        """Seconds until the earliest pending delivery is due (None: nothing pending)."""
        now = now or utcnow()
        with self.engine.connect() as connection:
            earliest = connection.execute(
                select(deliveries.c.next_attempt_at)
                .where(deliveries.c.status == DeliveryStatus.PENDING)
                .order_by(deliveries.c.next_attempt_at)
                .limit(1)
            ).scalar()
        return None if earliest is None else (earliest - now).total_seconds()


def _enabled(webhook) -> bool:
    return webhook is not None and bool(webhook.enabled)


def _secrets(webhook, now: datetime) -> tuple[str, ...]:
    """The current secret, and the previous one while it is still honoured."""
    expires = webhook.previous_secret_expires_at
    if webhook.previous_secret and expires is not None and expires > now:
        return (webhook.secret, webhook.previous_secret)
    return (webhook.secret,)
