"""End-to-end webhook fixtures: a real receiver, a sender with small backoff, settings."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from notifier.extensions import db
from notifier.webhooks.policy import SenderSettings
from notifier.webhooks.sender import WebhookSender
from tests.webhook_support import Receiver, saved_webhook_settings

FAST = {
    "timeout_s": 1.0,
    "max_attempts": 4,
    "backoff_base_s": 0.05,
    "backoff_max_s": 0.2,
    "allow_http": True,
    "allow_private_networks": True,
    "concurrency": 8,
    "batch_size": 16,
    "lease_s": 5.0,
    "poll_interval_s": 0.05,
}


@pytest.fixture
def webhook_settings(app) -> Iterator[Callable[..., None]]:
    saved = saved_webhook_settings(app.config)
    yield app.config.update
    app.config.update(saved)


@pytest.fixture
def local_webhooks(webhook_settings) -> None:
    """Registration accepts http:// and 127.0.0.1 (the receiver)."""
    webhook_settings(WEBHOOK_ALLOW_HTTP=True, WEBHOOK_ALLOW_PRIVATE_NETWORKS=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def make_sender(app) -> Iterator[Callable[..., WebhookSender]]:
    made: list[WebhookSender] = []

    def _make(**overrides: Any) -> WebhookSender:
        sender = WebhookSender(db.engine, SenderSettings(**{**FAST, **overrides}))
        made.append(sender)
        return sender

    yield _make
    for sender in made:
        sender.stop()
        sender.join(10)
        sender.transport.close()


def drain(sender: WebhookSender, timeout: float = 20.0) -> None:
    """Send until nothing is pending (retries included), without the loop thread."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sender.deliver_due()
        due_in = sender.queue.next_due_in()
        if due_in is None:
            return
        time.sleep(min(max(due_in, 0.01), 0.2))
    pytest.fail("webhook deliveries still pending")
