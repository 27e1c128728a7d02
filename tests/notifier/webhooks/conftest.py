"""Webhook API fixtures: WEBHOOK_* settings changed for one test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.webhook_support import saved_webhook_settings


@pytest.fixture
def webhook_settings(app) -> Iterator[Callable[..., None]]:
    """`webhook_settings(WEBHOOK_ALLOW_HTTP=True)`: changed for this test only."""
    saved = saved_webhook_settings(app.config)
    yield app.config.update
    app.config.update(saved)
