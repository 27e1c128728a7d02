"""Wiring for the Flask apps: `register_observability(app, service)` is the one call
each app factory makes (logging, request ids, and `/metrics` with its hooks)."""

from __future__ import annotations

import re
from time import perf_counter
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, request

from notifier.observability.logs import configure_logging
from notifier.observability.request_id import init_request_id

if TYPE_CHECKING:
    from notifier.observability.metrics import ApiMetrics

_RULE_VARIABLE = re.compile(r"<(?:([a-zA-Z_]\w*)(?:\([^)]*\))?:)?([a-zA-Z_]\w*)>")


def register_observability(app: Flask, service: str = "api") -> None:
    """Logging, `X-Request-ID`, and metrics when `METRICS_TOKEN` is set.

    Call it early in the factory: hooks registered first run first before the
    request and last after it, so the timing covers the other hooks.
    """
    configure_logging(app)
    init_request_id(app)
    init_app_metrics(app, service)


def route_label(rule: str) -> str:
    """`/notifications/<id:notification_id>` → `/notifications/<id>`: a variable shows its
    converter when it has one, else its name; arguments and names add nothing."""
    return _RULE_VARIABLE.sub(lambda m: f"<{m.group(1) or m.group(2)}>", rule)


def init_app_metrics(app: Flask, service: str = "api") -> bool:
    """Add `GET /metrics` and, for the API, the per-request hooks; False when off.

    Off (no route, so 404, and no hooks at all) unless `METRICS_TOKEN` is set:
    a deployment that does not scrape pays nothing.
    """
    expected = app.config.get("METRICS_TOKEN") or ""
    if not expected:
        return False
    # Loaded only when metrics are on: prometheus_client is about a megabyte in
    # every gunicorn worker, which a deployment that does not scrape never needs.
    from notifier.observability.exposition import METRICS_PATH, metrics_answer
    from notifier.observability.metrics import GROUPS

    group = GROUPS[service]()

    def metrics_view() -> Response:
        status, headers, body = metrics_answer(
            expected, request.headers.get("Authorization"), group.registry, multiprocess=True
        )
        return Response(body, status=status, headers=headers)

    app.add_url_rule(METRICS_PATH, "metrics", metrics_view, methods=["GET"])
    if service == "api":
        _init_request_hooks(app, group)
    return True


def _init_request_hooks(app: Flask, group: ApiMetrics) -> None:
    """Time every request and count its answer, with the label children cached per
    (method, rule, status): `labels()` validates and hashes on every call, the cache
    makes the per-request cost a dict lookup, an increment and an observation."""
    # Loaded with the metrics (see init_app_metrics).
    from notifier.observability.metrics import HTTP_METHODS, UNMATCHED_ROUTE

    start_key = "notifier.metrics_start"
    children: dict[tuple[str, str | None, int], tuple[Any, Any]] = {}

    def start_timer() -> None:
        request.environ[start_key] = perf_counter()

    def count_request(response: Response) -> Response:
        method = request.method
        if method not in HTTP_METHODS:
            method = "OTHER"
        rule = request.url_rule
        key = (method, rule.rule if rule is not None else None, response.status_code)
        pair = children.get(key)
        if pair is None:
            route = route_label(key[1]) if key[1] is not None else UNMATCHED_ROUTE
            pair = children.setdefault(
                key,
                (
                    group.requests.labels(method, route, str(key[2])),
                    group.duration.labels(method, route),
                ),
            )
        pair[0].inc()
        start = request.environ.get(start_key)
        if start is not None:
            pair[1].observe(perf_counter() - start)
        return response

    app.before_request(start_timer)
    app.after_request(count_request)
