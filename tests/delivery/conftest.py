"""Fixtures for the delivery service: an app per test, built from a test config, and the
providers' fakes (SMTP server, Google for FCM) with apps that send through them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from config import DeliveryConfig
from delivery.providers import GATEWAY_EXTENSION
from tests.delivery.fakes.smtp_server import SmtpServer
from tests.delivery.fcm_support import Google
from tests.delivery_support import delivery_app as authorised_app


class DeliveryTestConfig(DeliveryConfig):
    """Deterministic simulator: hooks on, no random outages, no latency."""

    TESTING = True
    DELIVERY_SIMULATOR_HOOKS = True
    DELIVERY_FAILURE_RATE = 0.0
    DELIVERY_LATENCY_MS = 0


VALID_TOKEN = "device-token_" + "a1B2:c3.d4-" * 4

VALID = {
    "email": {
        "channel": "email",
        "target": "someone@example.com",
        "title": "Your order",
        "content": "It has shipped.",
    },
    "sms": {"channel": "sms", "target": "+14155552671", "content": "Your code is 123456"},
    "push": {"channel": "push", "target": VALID_TOKEN, "title": "Hi", "content": "You have mail"},
}


def _message(channel: str, **changes: Any) -> dict[str, Any]:
    """A valid message for `channel`, with `changes` applied (None removes a field)."""
    body = {**VALID[channel], "notification_id": 1, **changes}
    return {key: value for key, value in body.items() if value is not None}


@pytest.fixture
def make_app() -> Callable[..., Flask]:
    (
        """Build a delivery app whose config overrides `DeliveryTestConfig` with keyword args;
    its test client sends the service's token (see tests/delivery_support.py)."""
        ""
    )

    def _make(**overrides: Any) -> Flask:
        return authorised_app(DeliveryTestConfig, **overrides)

    return _make


@pytest.fixture
def delivery_app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(delivery_app: Flask) -> FlaskClient:
    return delivery_app.test_client()


@pytest.fixture
def deliver(client: FlaskClient) -> Callable[..., TestResponse]:
    """POST a body to /deliver as UTF-8 JSON without \\u escapes, as a compact client would.

    (The test client's ``json=`` escapes every non-ASCII character, up to 12 bytes
    for an emoji, which would hit the 256 KiB limit before the 100 KB email rule.)
    """

    def _deliver(body: Any) -> TestResponse:
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
        return client.post("/deliver", data=raw, content_type="application/json")

    return _deliver


def _assert_error(response: TestResponse, status: int) -> dict[str, Any]:
    """Check the one error shape and return the body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["code"] == status
    assert isinstance(body["status"], str)
    assert body["status"]
    assert isinstance(body["message"], str)
    assert body["message"].strip()
    assert set(body) <= {"code", "status", "message", "errors", "rejected"}
    assert body.get("rejected", "message") in ("target", "message")
    assert "Traceback" not in response.get_data(as_text=True)
    return body


@pytest.fixture
def message() -> Callable[..., dict[str, Any]]:
    """`message("sms", content="x")`: a valid body for the channel with changes applied."""
    return _message


@pytest.fixture
def assert_error() -> Callable[[TestResponse, int], dict[str, Any]]:
    """`assert_error(response, 422)`: check the one error shape, return the body."""
    return _assert_error


@pytest.fixture
def start_smtp(tmp_path: Path) -> Iterator[Callable[..., SmtpServer]]:
    servers: list[SmtpServer] = []

    def _start(**kwargs: Any) -> SmtpServer:
        servers.append(SmtpServer(tmp_path, **kwargs).start())
        return servers[-1]

    yield _start
    for server in servers:
        server.stop()


@pytest.fixture
def smtp(start_smtp: Callable[..., SmtpServer]) -> SmtpServer:
    """STARTTLS on a certificate of a test CA, AUTH required."""
    return start_smtp()


@pytest.fixture
def smtp_app(make_app: Callable[..., Flask]) -> Iterator[Callable[..., Flask]]:
    """`smtp_app(server, SMTP_PASSWORD="x")`: a delivery app sending email through `server`."""
    apps: list[Flask] = []

    def _make(server: SmtpServer, **overrides: Any) -> Flask:
        apps.append(make_app(**server.settings(**overrides)))
        return apps[-1]

    yield _make
    for app in apps:
        app.extensions[GATEWAY_EXTENSION].close()


# --- FCM: Google's token endpoint and FCM HTTP v1, faked on 127.0.0.1 ---------------------


@pytest.fixture(scope="module")
def service_account_key() -> rsa.RSAPrivateKey:
    """The FCM service account's RSA key: signs its token requests, checked by the fake."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def google(service_account_key: rsa.RSAPrivateKey) -> Iterator[Google]:
    public = service_account_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    fake = Google(public)
    yield fake
    fake.http.stop()


@pytest.fixture
def credentials_file(
    tmp_path: Path, service_account_key: rsa.RSAPrivateKey, google: Google
) -> Path:
    """A service-account file whose token_uri is the local fake (as google-auth reads it)."""
    pem = service_account_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path = tmp_path / "service-account.json"
    account = {
        "type": "service_account",
        "project_id": "demo-project",
        "private_key_id": "key-1",
        "private_key": pem,
        "client_email": "fcm-sender@demo-project.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": f"{google.http.url}/token",
    }
    path.write_text(json.dumps(account))
    return path


@pytest.fixture
def provider_app(make_app) -> Iterator[Callable[..., Flask]]:
    """`provider_app(settings, **overrides)`: an app on a provider; its gateway is closed
    after the test."""
    apps: list[Flask] = []

    def _make(settings: dict[str, Any], **overrides: Any) -> Flask:
        apps.append(make_app(**{**settings, **overrides}))
        return apps[-1]

    yield _make
    for app in apps:
        app.extensions[GATEWAY_EXTENSION].close()


@pytest.fixture
def fcm_app(provider_app, google: Google, credentials_file: Path) -> Callable[..., Flask]:
    settings = {
        "PUSH_PROVIDER": "fcm",
        "FCM_PROJECT_ID": "demo-project",
        "FCM_CREDENTIALS_FILE": str(credentials_file),
        "FCM_API_BASE": google.http.url,
        "FCM_TIMEOUT_S": "0.5",
    }
    return lambda **overrides: provider_app(settings, **overrides)
