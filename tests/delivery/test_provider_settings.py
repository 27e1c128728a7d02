"""Choosing providers: the simulator by default, and no start without a provider's settings."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from delivery.providers import GATEWAY_EXTENSION, build_gateway
from delivery.providers.base import ProviderSettingsError
from tests.delivery_support import DELIVERY_TOKEN_ENV

ROOT = Path(__file__).resolve().parents[2]

SMTP = {"EMAIL_PROVIDER": "smtp", "SMTP_HOST": "127.0.0.1", "EMAIL_FROM": "no-reply@example.com"}
TWILIO = {
    "SMS_PROVIDER": "twilio",
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": "token",
    "TWILIO_FROM": "+15005550006",
}
FCM = {"PUSH_PROVIDER": "fcm", "FCM_PROJECT_ID": "demo", "FCM_CREDENTIALS_FILE": "/nonexistent"}


def test_every_channel_uses_the_simulator_by_default(make_app: Callable[..., Flask]) -> None:
    gateway = make_app().extensions[GATEWAY_EXTENSION]
    assert {channel: p.name for channel, p in gateway.providers.items()} == {
        "email": "simulator",
        "sms": "simulator",
        "push": "simulator",
    }


def test_configured_providers_are_chosen_per_channel() -> None:
    gateway = build_gateway({**SMTP, **TWILIO})
    try:
        names = {channel: provider.name for channel, provider in gateway.providers.items()}
    finally:
        gateway.close()
    assert names == {"email": "smtp", "sms": "twilio", "push": "simulator"}


@pytest.mark.parametrize(
    ("settings", "missing"),
    [
        ({**SMTP, "SMTP_HOST": ""}, "SMTP_HOST is required when EMAIL_PROVIDER=smtp"),
        ({**SMTP, "EMAIL_FROM": ""}, "EMAIL_FROM is required when EMAIL_PROVIDER=smtp"),
        ({**SMTP, "SMTP_USERNAME": "u"}, "SMTP_PASSWORD is required when SMTP_USERNAME is set"),
        ({**SMTP, "SMTP_SECURITY": "tls"}, "SMTP_SECURITY must be one of starttls, ssl, none"),
        ({**SMTP, "SMTP_PORT": "smtp"}, "SMTP_PORT must be a number"),
        ({**SMTP, "SMTP_PORT": "70000"}, "SMTP_PORT must be a TCP port"),
        ({**SMTP, "SMTP_TIMEOUT_S": "0"}, "SMTP_TIMEOUT_S must be greater than 0"),
        ({**SMTP, "SMTP_POOL_SIZE": "2.5"}, "SMTP_POOL_SIZE must be a whole number"),
        ({**SMTP, "EMAIL_FROM": "nobody"}, "EMAIL_FROM must be an email address"),
        ({**SMTP, "SMTP_CA_FILE": "/nonexistent/ca.pem"}, "SMTP_CA_FILE cannot be read"),
        ({**TWILIO, "TWILIO_AUTH_TOKEN": ""}, "TWILIO_AUTH_TOKEN is required when SMS_PROVIDER"),
        ({**TWILIO, "TWILIO_FROM": ""}, "TWILIO_FROM is required when SMS_PROVIDER=twilio"),
        ({**TWILIO, "TWILIO_ACCOUNT_SID": " "}, "TWILIO_ACCOUNT_SID is required"),
        ({**FCM, "FCM_PROJECT_ID": ""}, "FCM_PROJECT_ID is required when PUSH_PROVIDER=fcm"),
        ({**FCM, "FCM_CREDENTIALS_FILE": ""}, "FCM_CREDENTIALS_FILE is required"),
        ({"EMAIL_PROVIDER": "sendgrid"}, "EMAIL_PROVIDER must be one of simulator, smtp"),
        ({"SMS_PROVIDER": "smtp"}, "SMS_PROVIDER must be one of simulator, twilio"),
        ({"PUSH_PROVIDER": "apns"}, "PUSH_PROVIDER must be one of simulator, fcm"),
    ],
)
def test_a_provider_without_its_settings_stops_the_app(
    make_app: Callable[..., Flask], settings: dict[str, Any], missing: str
) -> None:
    with pytest.raises(ProviderSettingsError) as raised:
        make_app(**settings)
    assert missing in str(raised.value)
    assert "\n" not in str(raised.value)


def test_gunicorn_stops_at_start_with_the_one_line_reason(tmp_path: Path) -> None:
    """The real start: gunicorn halts (no endless worker restarts) and says what is missing."""
    process = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "delivery/gunicorn.conf.py"],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "DELIVERY_BIND": "127.0.0.1:0",
            "EMAIL_PROVIDER": "smtp",
            "EMAIL_FROM": "no-reply@example.com",
            **DELIVERY_TOKEN_ENV,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert process.returncode != 0
    assert "SMTP_HOST is required when EMAIL_PROVIDER=smtp" in process.stderr


@pytest.mark.parametrize("value", ["yes", 1, None, "true"])
def test_sandbox_must_be_a_json_boolean(
    make_app: Callable[..., Flask], assert_error: Callable, value: Any
) -> None:
    body = {"channel": "sms", "target": "+14155552671", "content": "hi", "sandbox": value}
    error = assert_error(make_app().test_client().post("/deliver", json=body), 422)
    assert "sandbox" in error["errors"]["json"]


def test_sandbox_is_in_the_openapi_document(make_app: Callable[..., Flask]) -> None:
    spec = make_app().test_client().get("/openapi.json").get_json()
    schema = spec["components"]["schemas"]["DeliveryRequest"]["properties"]["sandbox"]
    assert schema["type"] == "boolean"
    assert schema["default"] is False
