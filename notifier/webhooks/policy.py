"""The webhook sender's pure rules: settings, what an answer means, when to try again.

No database and no network here, so every rule is unit-tested on its own.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from notifier.backoff import exponential_backoff
from notifier.webhooks.models import DeliveryStatus

# What a try comes to: a final `DeliveryStatus`, or RETRY (pending again, later).
RETRY = "retry"
Verdict = str

# Retried although 4xx: the receiver asks us to come back later.
RETRYABLE_4XX = frozenset({408, 429})
# A receiver's Retry-After is honoured up to this many seconds, even above the backoff cap.
MAX_RETRY_AFTER_S = 3600.0


@dataclass(frozen=True)
class SenderSettings:
    """The sender's knobs, from the app config (`WEBHOOK_*`)."""

    timeout_s: float = 10.0
    max_attempts: int = 8
    backoff_base_s: float = 5.0
    backoff_max_s: float = 3600.0
    allow_http: bool = False
    allow_private_networks: bool = False
    concurrency: int = 64
    batch_size: int = 64
    lease_s: float = 60.0
    poll_interval_s: float = 1.0
    retention_days: int = 7

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SenderSettings:
        return cls(
            timeout_s=float(config["WEBHOOK_TIMEOUT_S"]),
            max_attempts=int(config["WEBHOOK_MAX_ATTEMPTS"]),
            backoff_base_s=float(config["WEBHOOK_BACKOFF_BASE_S"]),
            backoff_max_s=float(config["WEBHOOK_BACKOFF_MAX_S"]),
            allow_http=bool(config["WEBHOOK_ALLOW_HTTP"]),
            allow_private_networks=bool(config["WEBHOOK_ALLOW_PRIVATE_NETWORKS"]),
            concurrency=int(config["WEBHOOK_CONCURRENCY"]),
            lease_s=float(config["WEBHOOK_LEASE_S"]),
            poll_interval_s=float(config["WEBHOOK_POLL_INTERVAL_S"]),
            retention_days=int(config["WEBHOOK_RETENTION_DAYS"]),
        )

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.batch_size < 1 or self.max_attempts < 1:
            raise ValueError("WEBHOOK_CONCURRENCY and WEBHOOK_MAX_ATTEMPTS must be at least 1")
        if self.lease_s <= 3 * self.timeout_s:
            # A try may take a connect timeout, a wait for the answer and a read; a shorter lease
            # would let another worker send the same event while this one waits.
            raise ValueError("WEBHOOK_LEASE_S must be more than three times WEBHOOK_TIMEOUT_S")


def verdict(http_status: int | None) -> Verdict:
    """2xx: delivered. No answer (timeout, connection, TLS), 408, 429, 5xx: retry.

    Anything else, 3xx included (redirects are not followed), fails at once:
    the receiver refused this request, and the same request will not fare better.
    """
    if http_status is None:
        return RETRY
    if 200 <= http_status < 300:
        return DeliveryStatus.DELIVERED
    if http_status in RETRYABLE_4XX or 500 <= http_status < 600:
        return RETRY
    return DeliveryStatus.FAILED


def retry_delay(
    attempts: int,
    base_s: float,
    max_s: float,
    retry_after_s: float | None = None,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds before the next try after `attempts` tries failed.

    `notifier.backoff.exponential_backoff` (doubling from `base_s` up to `max_s`,
    equal jitter, a `Retry-After` as a minimum), with a receiver's `Retry-After`
    honoured up to an hour even above the cap: the receiver knows best when it
    will be back.
    """
    return exponential_backoff(
        attempts, base_s, max_s, retry_after_s, retry_after_cap_s=MAX_RETRY_AFTER_S, rand=rand
    )
