"""Only the dispatcher may call the delivery service: ``DELIVERY_API_TOKEN`` on every route
but ``/health`` and ``/metrics``; a refused request sends nothing and changes nothing."""

from __future__ import annotations

import logging
import runpy
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from delivery.auth import DeliveryAuthSettingsError
from delivery.providers import GATEWAY_EXTENSION
from tests.delivery.fakes.smtp_server import SmtpServer
from tests.delivery_support import DELIVERY_AUTH, DELIVERY_TOKEN, DELIVERY_TOKEN_ENV

ROOT = Path(__file__).resolve().parents[2]
EMAIL = {
    "channel": "email",
    "target": "someone@example.com",
    "title": "Your code",
    "content": "123456",
    "idempotency_key": "ntf-1-v1",
}
ZERO = {"sent": 0, "replays": 0, "requests": 0}

REFUSED_AUTHORIZATIONS = {
    "no header": None,
    "a wrong token of the same length": "Bearer " + "x" * len(DELIVERY_TOKEN),
    "a shorter token": "Bearer " + DELIVERY_TOKEN[:-1],
    "a longer token": "Bearer " + DELIVERY_TOKEN + "x",
    "an empty token": "Bearer ",
    "the token without its scheme": DELIVERY_TOKEN,
    "the token as basic credentials": "Basic " + DELIVERY_TOKEN,
    "a non-ASCII token": "Bearer " + "é" * len(DELIVERY_TOKEN),
}


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpServer]:
    server = SmtpServer(tmp_path, security="none", auth=False).start()
    yield server
    server.stop()


@pytest.fixture
def smtp_app(make_app: Callable[..., Flask], smtp: SmtpServer) -> Iterator[Flask]:
    """A delivery service that sends email for real, to the suite's SMTP server."""
    app = make_app(**smtp.settings())
    yield app
    app.extensions[GATEWAY_EXTENSION].close()


def anonymous(app: Flask) -> FlaskClient:
    """A client that sends no token unless a request carries one."""
    return FlaskClient(app, app.response_class)


def _refused(response, assert_error) -> None:
    body = assert_error(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "token" in body["message"]
    assert DELIVERY_TOKEN not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "authorization", REFUSED_AUTHORIZATIONS.values(), ids=REFUSED_AUTHORIZATIONS.keys()
)
def test_a_delivery_without_the_right_token_is_401_and_sends_no_email(
    smtp_app: Flask, smtp: SmtpServer, assert_error, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = anonymous(smtp_app).post("/deliver", json=EMAIL, headers=headers)
    _refused(response, assert_error)
    assert smtp.received == []
    assert smtp_app.test_client().get("/stats").get_json() == ZERO


def test_the_same_delivery_with_the_token_reaches_the_mail_server(
    smtp_app: Flask, smtp: SmtpServer
) -> None:
    response = anonymous(smtp_app).post("/deliver", json=EMAIL, headers=DELIVERY_AUTH)
    assert response.status_code == 200, response.get_json()
    assert len(smtp.received) == 1
    assert smtp_app.test_client().get("/stats").get_json() == {**ZERO, "sent": 1, "requests": 1}


def test_a_refused_delivery_claims_no_idempotency_key(smtp_app: Flask, smtp: SmtpServer) -> None:
    """Had the refused request claimed the key, the real one would be a replay of a 401."""
    anonymous(smtp_app).post("/deliver", json=EMAIL)
    response = smtp_app.test_client().post("/deliver", json=EMAIL)
    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response.headers
    assert len(smtp.received) == 1


def test_a_reset_without_the_token_is_401_and_the_memory_survives(
    smtp_app: Flask, smtp: SmtpServer, assert_error
) -> None:
    dispatcher = smtp_app.test_client()
    first = dispatcher.post("/deliver", json=EMAIL)
    assert first.status_code == 200

    _refused(anonymous(smtp_app).post("/stats/reset"), assert_error)

    again = dispatcher.post("/deliver", json=EMAIL)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["provider_message_id"] == first.get_json()["provider_message_id"]
    assert len(smtp.received) == 1  # remembered: not emailed twice
    assert dispatcher.get("/stats").get_json() == {"sent": 1, "replays": 1, "requests": 2}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/stats"),
        ("POST", "/stats/reset"),
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/no/such/route"),
        ("PUT", "/deliver"),
    ],
)
def test_every_other_route_needs_the_token(
    delivery_app: Flask, assert_error, method: str, path: str
) -> None:
    _refused(anonymous(delivery_app).open(path, method=method), assert_error)


def test_health_answers_without_a_token(delivery_app: Flask) -> None:
    response = anonymous(delivery_app).get("/health")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})


def test_metrics_keep_their_own_token(make_app: Callable[..., Flask]) -> None:
    app = make_app(METRICS_TOKEN="metrics-token-for-this-test")
    client = anonymous(app)
    assert client.get("/metrics").status_code == 401
    scraped = client.get(
        "/metrics", headers={"Authorization": "Bearer metrics-token-for-this-test"}
    )
    assert scraped.status_code == 200


def test_a_large_body_without_the_token_is_refused_before_it_is_read(
    delivery_app: Flask, assert_error
) -> None:
    body = b"x" * (delivery_app.config["MAX_CONTENT_LENGTH"] + 1)
    response = anonymous(delivery_app).post("/deliver", data=body, content_type="application/json")
    _refused(response, assert_error)


# --- settings at start -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("", "DELIVERY_API_TOKEN is required"),
        ("x" * 31, "DELIVERY_API_TOKEN must be at least 32 characters"),
        ("has a space " + "x" * 32, "DELIVERY_API_TOKEN may hold only visible ASCII"),
    ],
)
def test_without_a_usable_token_the_service_refuses_to_start(
    make_app: Callable[..., Flask], token: str, reason: str
) -> None:
    with pytest.raises(DeliveryAuthSettingsError) as raised:
        make_app(DELIVERY_API_TOKEN=token)
    assert reason in str(raised.value)
    assert "\n" not in str(raised.value)
    assert token == "" or token not in str(raised.value)


def test_allowing_unauthenticated_callers_opens_it_with_a_warning(
    make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="delivery.auth"):
        app = make_app(DELIVERY_API_TOKEN="", DELIVERY_ALLOW_UNAUTHENTICATED=True)
    assert "DELIVERY_ALLOW_UNAUTHENTICATED" in caplog.text
    sms = {"channel": "sms", "target": "+14155552671", "content": "hi"}
    assert anonymous(app).post("/deliver", json=sms).status_code == 200


def test_a_token_wins_over_allowing_unauthenticated_callers(
    make_app: Callable[..., Flask], assert_error
) -> None:
    app = make_app(DELIVERY_ALLOW_UNAUTHENTICATED=True)
    _refused(anonymous(app).post("/stats/reset"), assert_error)


def _gunicorn(env: dict[str, Any]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "delivery/gunicorn.conf.py"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DELIVERY_BIND": "127.0.0.1:0", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_gunicorn_stops_at_start_without_the_token_and_names_the_setting() -> None:
    process = _gunicorn({})
    assert process.returncode != 0
    assert "DELIVERY_API_TOKEN is required" in process.stderr


def test_gunicorn_starts_with_the_token() -> None:
    """The same start with the token gets past the check (then fails on a bad provider)."""
    process = _gunicorn({**DELIVERY_TOKEN_ENV, "EMAIL_PROVIDER": "nonesuch"})
    assert "EMAIL_PROVIDER must be one of" in process.stderr
    assert "DELIVERY_API_TOKEN" not in process.stderr


# --- where it listens ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "bound"),
    [
        (None, "127.0.0.1:7001"),  # loopback unless told: only the dispatcher calls it
        ("0.0.0.0", "0.0.0.0:7001"),  # noqa: S104 (a container, or a platform that sets PORT)
        ("0.0.0.0:8001", "0.0.0.0:8001"),  # what compose sets
        ("[::1]", "[::1]:7001"),
        ("unix:/run/delivery.sock", "unix:/run/delivery.sock"),
    ],
)
def test_gunicorn_binds_loopback_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, bound: str
) -> None:
    monkeypatch.setenv("METRICS_TOKEN", "")  # no metrics directory for this read
    monkeypatch.setenv("PORT", "7001")
    if setting is None:
        monkeypatch.delenv("DELIVERY_BIND", raising=False)
    else:
        monkeypatch.setenv("DELIVERY_BIND", setting)
    assert runpy.run_path(str(ROOT / "delivery" / "gunicorn.conf.py"))["bind"] == bound
