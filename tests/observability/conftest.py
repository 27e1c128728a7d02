"""A delivery service app for the observability tests that need one."""

from __future__ import annotations

import pytest

from config import DeliveryConfig
from tests.delivery_support import delivery_app


class MeteredDeliveryConfig(DeliveryConfig):
    TESTING = True
    DELIVERY_FAILURE_RATE = 0.0
    DELIVERY_LATENCY_MS = 0
    METRICS_TOKEN = "test-metrics-token"  # tests.observability.scrape.TOKEN


@pytest.fixture
def delivery_client():
    return delivery_app(MeteredDeliveryConfig).test_client()
