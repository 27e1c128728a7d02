"""The dispatcher's throughput knobs: one default, said the same way everywhere.

An operator reads the default in the settings reference or `.env.example`; the dispatcher
runs with what `config.py` and `Settings` hold. These must agree, and the HTTP pool must be
large enough for every sender thread to keep its connection.
"""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from config import BaseConfig as Config
from notifier.worker.client import DeliveryClient
from notifier.worker.policy import Settings

ROOT = Path(__file__).resolve().parents[3]
KNOBS = {"DELIVERY_CONCURRENCY": "concurrency", "DELIVERY_BATCH_SIZE": "batch_size"}


def documented_default(name: str) -> int:
    text = (ROOT / "docs" / "reference" / "settings.md").read_text()
    match = re.search(rf"^\| `{name}` \| `(\d+)` \|", text, re.MULTILINE)
    assert match, f"{name} is not in the settings reference"
    return int(match.group(1))


def example_value(name: str) -> int:
    text = (ROOT / ".env.example").read_text()
    match = re.search(rf"^{name}=(\d+)$", text, re.MULTILINE)
    assert match, f"{name} is not in .env.example"
    return int(match.group(1))


@pytest.mark.parametrize("name", sorted(KNOBS))
def test_the_dispatcher_default_is_the_one_the_docs_and_the_example_give(name: str) -> None:
    in_settings = {f.name: f.default for f in fields(Settings)}[KNOBS[name]]
    assert getattr(Config, name) == in_settings == documented_default(name)
    assert example_value(name) == in_settings


def test_one_dispatcher_keeps_enough_requests_in_flight_for_500_a_second_at_200_ms() -> None:
    # Little's law: deliveries/s <= requests in flight / provider latency.
    assert Config.DELIVERY_CONCURRENCY / 0.2 >= 500 * 1.5


def test_a_claimed_batch_is_sent_well_within_its_lease_even_when_every_request_times_out() -> None:
    settings = Settings(service_url="http://127.0.0.1:9")
    # The deepest queue a claim can wait in: every sender busy, a full batch queued behind
    # them; each round of senders takes at most the request timeout.
    rounds = (settings.concurrency + settings.batch_size) / settings.concurrency
    assert rounds * settings.timeout_s < settings.lease_s / 2


def test_every_sender_thread_gets_a_kept_alive_connection_to_the_delivery_service() -> None:
    settings = Settings(service_url="http://127.0.0.1:9")
    client = DeliveryClient(settings.service_url, settings.timeout_s, settings.concurrency)
    try:
        assert client.http.connection_pool_kw["maxsize"] >= settings.concurrency
    finally:
        client.close()
