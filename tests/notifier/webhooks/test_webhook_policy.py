"""The sender's rules without a database or a network: verdicts, backoff, signatures."""

from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks.webhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError

from notifier.webhooks import signing
from notifier.webhooks.policy import SenderSettings, retry_delay, verdict


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_2xx_is_delivered(status):
    assert verdict(status) == "delivered"


@pytest.mark.parametrize("status", [None, 408, 429, 500, 502, 503, 504, 599])
def test_no_answer_408_429_and_5xx_are_retried(status):
    assert verdict(status) == "retry"


@pytest.mark.parametrize("status", [100, 301, 302, 307, 400, 401, 403, 404, 410, 422])
def test_every_other_status_fails_at_once(status):
    assert verdict(status) == "failed"


def test_backoff_doubles_with_equal_jitter_up_to_the_cap():
    assert retry_delay(1, 5, 3600, rand=lambda: 0.0) == 2.5
    assert retry_delay(1, 5, 3600, rand=lambda: 1.0) == 5
    assert retry_delay(4, 5, 3600, rand=lambda: 1.0) == 40
    assert retry_delay(30, 5, 3600, rand=lambda: 1.0) == 3600
    assert retry_delay(500, 5, 3600, rand=lambda: 0.0) == 1800


def test_retry_after_is_a_floor_up_to_an_hour_even_above_the_cap():
    assert retry_delay(1, 5, 60, retry_after_s=600, rand=lambda: 0.0) == 600
    assert retry_delay(1, 5, 60, retry_after_s=90_000, rand=lambda: 0.0) == 3600
    assert retry_delay(5, 5, 3600, retry_after_s=1, rand=lambda: 1.0) == 80


def test_a_lease_shorter_than_a_try_is_refused():
    with pytest.raises(ValueError, match="LEASE"):
        SenderSettings(timeout_s=10, lease_s=20)


def test_signatures_verify_with_the_official_library():
    secret, old = signing.new_secret(), signing.new_secret()
    body = b'{"type":"webhook.test","data":{"webhook_id":1}}'
    now = int(time.time())
    headers = signing.headers([secret, old], "msg_1", now, body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for key in (secret, old):
        assert Verifier(key).verify(body, headers) == {
            "type": "webhook.test",
            "data": {"webhook_id": 1},
        }
    with pytest.raises(WebhookVerificationError):
        Verifier(signing.new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Verifier(secret).verify(body + b" ", headers)


def test_secrets_have_the_standard_format():
    secret = signing.new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[6:], validate=True)) == 32
    assert signing.new_secret() != secret
