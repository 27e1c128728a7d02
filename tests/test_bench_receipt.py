"""The `receipt` bench scenario's requests, through the app: each is a real first receipt.

The bench signs Twilio's callbacks itself (bench/receipt_scenarios.py); if its signature
or its form drifted from what `POST /receipts/twilio` checks, the scenario would measure
403s or 400s. Here one of its requests is sent as wrk sends it, on both databases.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench import receipt_scenarios as scenario
from tests.receipt_support import row, sent_notification


@pytest.fixture
def twilio(app) -> Iterator[None]:
    saved = {k: app.config.get(k) for k in scenario.RECEIPT.ours_env}
    app.config.update(scenario.RECEIPT.ours_env)
    yield
    app.config.update(saved)


def post(client, number: int, signature: str | None = None):
    given, body = scenario.callback(number)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature or given,
    }
    return client.post(scenario.PATH, data=body, headers=headers)


def test_a_bench_callback_delivers_its_sent_sms_once(client, user, twilio):
    nid = sent_notification(
        user.id, scenario.message_sid(7), channel="sms", target=scenario.SMS_TARGET
    )

    assert post(client, 7).status_code == 204
    delivered_at = row(nid).delivered_at
    assert row(nid).status == "delivered"
    assert post(client, 7).status_code == 204  # a repeat: an idempotent no-op
    assert row(nid).delivered_at == delivered_at


def test_the_bench_signs_with_the_token_and_url_the_api_runs_with(client, user, twilio):
    nid = sent_notification(user.id, scenario.message_sid(8), channel="sms")
    forged = scenario.sign({"MessageSid": scenario.message_sid(8)}, token="another-token")

    assert post(client, 8, signature=forged).status_code == 403
    assert row(nid).status == "sent"
