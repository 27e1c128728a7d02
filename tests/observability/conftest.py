"""A delivery service app for the observability tests that need one."""

from __future__ import annotations

import pytest

from config import DeliveryConfig
from delivery import create_app


class MeteredDeliveryConfig(DeliveryConfig):
    TESTING = True
    DELIVERY_FAILURE_RATE = 0.0
    DELIVERY_LATENCY_MS = 0
    METRICS_TOKEN = "test-metrics-token"  # tests.observability.scrape.TOKEN


@pytest.fixture
def delivery_client():
    return create_app(MeteredDeliveryConfig).test_client()
