"""The dispatcher's decisions, without a database or a network: pure functions.

- `Settings`: the knobs, read from the app config (`DELIVERY_*`).
- `backoff_delay`: how long to wait before the next try.
- `new_state`: what one delivery result makes of its notification.
- `failed_inside`: the result of a try that failed inside the dispatcher.
- `too_late_to_send`: whether a claim's lease is too nearly spent to start sending.

The queue writes what these decide; the unit tests check them without a database.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any

from notifier.backoff import exponential_backoff
from notifier.notifications.lifecycle import NewState, Outcome, Status
from notifier.suppressions import tokens
from notifier.worker.client import DeliveryResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    """The dispatcher's knobs, read from the app config (`DELIVERY_*`)."""

    service_url: str
    timeout_s: float = 10.0
    max_attempts: int = 5
    backoff_base_s: float = 2.0
    backoff_max_s: float = 300.0
    lease_s: float = 60.0
    concurrency: int = 192
    batch_size: int = 128
    poll_interval_s: float = 1.0
    idempotency_key_ttl_s: float = 86_400.0
    purge_every_s: float = 600.0
    # Backoff while the database is unreachable (claiming or recording).
    db_retry_delays_s: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
    # Most results written in one transaction by the recorder.
    record_batch: int = 200
    # DELIVERY_API_TOKEN: the delivery service answers 401 without it. Kept out of repr,
    # so that no log line of the settings shows it.
    api_token: str = field(default="", repr=False)
    # One-click unsubscribe links sent as `list_unsubscribe` (notifier.suppressions.tokens):
    # PUBLIC_BASE_URL (unset: no links) and the tokens' signing key, out of repr too.
    public_base_url: str = ""
    unsubscribe_secret: str = field(default="", repr=False)

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
            api_token=str(config.get("DELIVERY_API_TOKEN") or ""),
            public_base_url=str(config.get("PUBLIC_BASE_URL") or ""),
            unsubscribe_secret=tokens.secret(config),
        )
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})

    def __post_init__(self) -> None:
        if min(self.concurrency, self.batch_size, self.max_attempts, self.record_batch) < 1:
            raise ValueError(
                "concurrency, batch_size, max_attempts and record_batch must be at least 1"
            )
        if not self.db_retry_delays_s:
            raise ValueError("db_retry_delays_s needs at least one delay")
        if self.lease_s <= self.timeout_s:
            # A lease shorter than one request would let a second dispatcher take a row
            # back while the first is still waiting for its answer.
            log.warning(
                "DELIVERY_LEASE_S (%g) should be longer than DELIVERY_TIMEOUT_S (%g)",
                self.lease_s,
                self.timeout_s,
            )

    def db_retry_delay(self, failures: int) -> float:
        """The wait after `failures` consecutive database failures (1 or more)."""
        return self.db_retry_delays_s[min(failures, len(self.db_retry_delays_s)) - 1]


def backoff_delay(
    attempts: int,
    base_s: float,
    max_s: float,
    retry_after_s: float | None = None,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before the next try, after `attempts` tries have failed.

    `notifier.backoff.exponential_backoff` (doubling from `base_s` up to `max_s`,
    equal jitter, a `Retry-After` as a minimum), with the provider's `Retry-After`
    capped at `max_s` too, so that no answer can park a notification for longer
    than the operator allows.
    """
    return exponential_backoff(
        attempts, base_s, max_s, retry_after_s, retry_after_cap_s=max_s, rand=rand
    )


def new_state(
    attempts: int,
    result: DeliveryResult,
    settings: Settings,
    rand: Callable[[], float] = random.random,
) -> NewState:
    """The notification's new state after `result`, its `attempts`-th try.

    sent → `sent`; rejected → `failed` with the provider's reason; unavailable →
    `pending` again after a backoff, or `failed` once the attempts are used up.
    """
    if result.outcome == Outcome.SENT:
        # Our clock, not the provider's: every timestamp of a row then comes from
        # one clock, and sent_at is never before created_at.
        return NewState(
            Status.SENT,
            sent_at=result.finished_at,
            provider_message_id=result.provider_message_id,
        )
    if result.outcome == Outcome.REJECTED:
        return NewState(Status.FAILED, error_message=result.error)
    if attempts >= settings.max_attempts:
        return NewState(
            Status.FAILED,
            error_message=(
                f"Delivery failed after {attempts} attempts; the last one: "
                f"{result.error or 'the delivery service was unavailable.'}"
            ),
        )
    delay = backoff_delay(
        attempts, settings.backoff_base_s, settings.backoff_max_s, result.retry_after_s, rand
    )
    return NewState(Status.PENDING, next_attempt_at=result.finished_at + timedelta(seconds=delay))


def failed_inside(error: BaseException, started_at: datetime, now: datetime) -> DeliveryResult:
    """The result of a try that failed inside the dispatcher (a bug or unsendable data).

    It is retried with backoff like an outage, and fails for good once the
    attempts are used up: a poison notification must not take the others down.
    """
    text = f"{type(error).__name__}: {error}"[:500]
    return DeliveryResult(
        outcome=Outcome.UNAVAILABLE,
        started_at=started_at,
        finished_at=now,
        duration_ms=max(0, round((now - started_at).total_seconds() * 1000)),
        error=f"The dispatcher could not send this notification ({text}).",
    )


def too_late_to_send(now_monotonic: float, lease_deadline: float, settings: Settings) -> bool:
    """True when a request started now could outlast the claim's lease.

    A claim that waited so long in the queue would race the dispatcher that
    takes it back after the lease: it is given back to be claimed afresh.
    """
    margin = min(settings.timeout_s, settings.lease_s / 2)
    return now_monotonic + margin > lease_deadline
