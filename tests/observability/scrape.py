"""Read `/metrics` the way Prometheus does: the text format, parsed into samples."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

TOKEN = "test-metrics-token"  # TestConfig.METRICS_TOKEN
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """`{(sample name, frozenset of label pairs): value}` of one exposition."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    """One sample's value, 0 when it is absent (a counter nothing touched yet)."""
    return found.get((name, frozenset(labels.items())), 0.0)


def series(found: dict, name: str) -> list[dict[str, str]]:
    """The label sets of every sample of one name."""
    return [dict(labels) for sample_name, labels in found if sample_name == name]
