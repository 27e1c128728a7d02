"""The documented Prometheus series, the functions that count them, and `/metrics`.

Three groups, one per process kind, each in its own registry so that a process
exports only its own series (the API has no queue gauges): `api_metrics()`,
`worker_metrics()` and `delivery_metrics()`. A group is created on first use,
which also keeps a process from writing the other groups' files in
prometheus_client's multiprocess mode.

Label values are bounded: `route` is the URL rule (`/notifications/<id>`), never
the path, and `unmatched` for a path no rule matches; a method outside the usual
seven is `OTHER`; outcomes are checked against their lists. So the number of
series cannot grow with what clients send.

`exposition.py` serves them (`/metrics`), `hooks.py` counts the API's requests.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)

# No `*_created` series: they double the series count, and Prometheus detects counter
# resets without them.
disable_created_metrics()

DELIVERY_OUTCOMES = ("sent", "rejected", "unavailable")
WEBHOOK_OUTCOMES = ("delivered", "retry", "failed")
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "unmatched"

# API requests take about a millisecond; the buckets start well below that.
API_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# A delivery is a call to a provider: tens of milliseconds up to the timeout.
DELIVERY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True)
class ApiMetrics:
    registry: CollectorRegistry
    requests: Counter
    duration: Histogram


@dataclass(frozen=True)
class WorkerMetrics:
    registry: CollectorRegistry
    deliveries: Counter
    delivery_duration: Histogram
    due: Gauge
    oldest_due: Gauge
    webhook_deliveries: Counter


@dataclass(frozen=True)
class DeliveryServiceMetrics:
    registry: CollectorRegistry
    requests: Counter


@functools.cache
def api_metrics() -> ApiMetrics:
    registry = CollectorRegistry()
    return ApiMetrics(
        registry,
        Counter(
            "notifier_http_requests",
            "API requests answered, by method, URL rule and status.",
            ("method", "route", "status"),
            registry=registry,
        ),
        Histogram(
            "notifier_http_request_duration_seconds",
            "Time the API took to answer, by method and URL rule.",
            ("method", "route"),
            buckets=API_BUCKETS,
            registry=registry,
        ),
    )


@functools.cache
def worker_metrics() -> WorkerMetrics:
    registry = CollectorRegistry()
    return WorkerMetrics(
        registry,
        Counter(
            "notifier_deliveries",
            "Delivery attempts recorded by the dispatcher, by channel and outcome.",
            ("channel", "outcome"),
            registry=registry,
        ),
        Histogram(
            "notifier_delivery_duration_seconds",
            "Time one delivery request took, by channel.",
            ("channel",),
            buckets=DELIVERY_BUCKETS,
            registry=registry,
        ),
        Gauge(
            "notifier_notifications_due",
            "Pending notifications that are due now.",
            registry=registry,
            multiprocess_mode="mostrecent",
        ),
        Gauge(
            "notifier_oldest_due_seconds",
            "How long the oldest due notification has waited (the queue's lag).",
            registry=registry,
            multiprocess_mode="mostrecent",
        ),
        Counter(
            "notifier_webhook_deliveries",
            "Webhook delivery tries, by outcome.",
            ("outcome",),
            registry=registry,
        ),
    )


@functools.cache
def delivery_metrics() -> DeliveryServiceMetrics:
    registry = CollectorRegistry()
    return DeliveryServiceMetrics(
        registry,
        Counter(
            "delivery_requests",
            "Delivery requests answered, by channel, provider and outcome.",
            ("channel", "provider", "outcome"),
            registry=registry,
        ),
    )


GROUPS: dict[str, Callable[[], Any]] = {
    "api": api_metrics,
    "worker": worker_metrics,
    "delivery": delivery_metrics,
}


# --- counting (worker and delivery service) ---------------------------------------------

_children: dict[tuple, Any] = {}


def _child(metric: Any, labels: tuple[str, ...]) -> Any:
    """The labelled child, cached: `labels()` validates and looks up on every call."""
    key = (id(metric), labels)
    child = _children.get(key)
    if child is None:
        child = _children.setdefault(key, metric.labels(*labels))
    return child


def _check(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {allowed}")


def record_delivery(channel: str, outcome: str, seconds: float) -> None:
    """One delivery attempt's outcome (`sent`, `rejected`, `unavailable`) and duration."""
    _check(outcome, DELIVERY_OUTCOMES, "delivery outcome")
    group = worker_metrics()
    _child(group.deliveries, (channel, outcome)).inc()
    _child(group.delivery_duration, (channel,)).observe(seconds)


def record_webhook_delivery(outcome: str) -> None:
    """One webhook try's outcome: `delivered`, `retry` or `failed`."""
    _check(outcome, WEBHOOK_OUTCOMES, "webhook outcome")
    _child(worker_metrics().webhook_deliveries, (outcome,)).inc()


def record_delivery_request(channel: str, provider: str, outcome: str) -> None:
    """One answer of the delivery service (`sent`, `rejected`, `unavailable`)."""
    _check(outcome, DELIVERY_OUTCOMES, "delivery outcome")
    _child(delivery_metrics().requests, (channel, provider, outcome)).inc()


def delivery_outcome(status: int) -> str:
    """The outcome of a delivery service answer from its HTTP status."""
    if status < 300:
        return "sent"
    return "unavailable" if status == 503 else "rejected"


def set_queue_gauges(due: int, oldest_seconds: float) -> None:
    """The queue's size and lag, as last measured."""
    group = worker_metrics()
    group.due.set(due)
    group.oldest_due.set(oldest_seconds)


def due_queue_stats(connectable: Any, notifications: Any, pending: str, now: datetime) -> tuple:
    """`(due, oldest_seconds)` in one statement: pending rows with `next_attempt_at <= now`,
    counted, and the earliest of them. `notifications` is the table, `pending` its status."""
    from sqlalchemy import func, select  # the worker has it; the API never calls this

    column = notifications.c.next_attempt_at
    statement = select(func.count(), func.min(column)).where(
        notifications.c.status == pending, column <= now
    )
    with connectable.connect() as connection:
        due, oldest = connection.execute(statement).one()
    return due, (now - oldest).total_seconds() if oldest is not None else 0.0
