"""The Grafana dashboard and the Prometheus configuration agree with what the services export."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from notifier.observability.metrics import GROUPS

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "notifier.json"

SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool"}
PROMQL_WORDS |= {"and", "or", "unless", "offset", "inf", "nan"}


def exported_names() -> set[str]:
    """Every sample name the three processes can export (families without samples too)."""
    names = set()
    for group in GROUPS.values():
        for family in group().registry.collect():
            names |= {family.name + suffix for suffix in SUFFIXES[family.type]}
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: the identifiers left once strings,
    label matchers, ranges, grouping clauses, numbers and durations are removed, that
    are neither functions (followed by a parenthesis) nor keywords."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"(?<![\w.])\d+(?:\.\d+)?(?:e[+-]?\d+)?(?:ms|[smhdwy])?", "", expr)  # numbers
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr):
        following = expr[match.end() :].lstrip()
        if following.startswith("(") or match.group().lower() in PROMQL_WORDS:
            continue
        names.add(match.group())
    return names


def queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_the_parser_finds_metrics_and_skips_functions_and_labels():
    expr = (
        'histogram_quantile(0.95, sum by (le, route) (rate(a_bucket{route="/x/<id>"}[5m])))'
        " / on (job) group_left sum(b_total offset 5m) > bool 0"
    )
    assert metric_names(expr) == {"a_bucket", "b_total"}


def test_every_metric_the_dashboard_queries_is_exported():
    exported = exported_names()
    used = set().union(*(metric_names(expr) for expr in queries()))
    assert used, "the dashboard has no queries"
    assert used <= exported, f"not exported: {sorted(used - exported)}"


@pytest.mark.parametrize(
    "needle",
    [
        "notifier_deliveries_total",  # throughput by channel and outcome
        "histogram_quantile(0.99, sum by (le) (rate(notifier_http_request_duration_seconds_bucket",
        "notifier_oldest_due_seconds",  # queue lag
        "notifier_webhook_deliveries_total",
        "delivery_requests_total",
    ],
)
def test_the_dashboard_shows_what_the_issue_asks_for(needle):
    assert any(needle in expr for expr in queries())


def test_prometheus_scrapes_the_three_services_with_the_token():
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"api", "delivery", "worker"}
    for job in jobs.values():
        assert job["authorization"]["type"] == "Bearer"
        assert job["authorization"]["credentials_file"] == "/prometheus/metrics_token"
    assert jobs["api"]["static_configs"][0]["targets"] == ["api:8000"]
    assert jobs["delivery"]["static_configs"][0]["targets"] == ["delivery:8001"]
    compose = yaml.safe_load((DEPLOY.parent / "docker-compose.yml").read_text())
    worker_port = compose["services"]["worker"]["environment"]["WORKER_METRICS_PORT"]
    assert jobs["worker"]["dns_sd_configs"][0]["port"] == int(worker_port)
    assert compose["services"]["prometheus"]["profiles"] == ["monitoring"]
    assert compose["services"]["grafana"]["profiles"] == ["monitoring"]
