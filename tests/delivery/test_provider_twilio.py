"""SMS_PROVIDER=twilio against a local HTTP fake that answers as Twilio's Messages API does."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from delivery.providers.base import ProviderSettingsError
from tests.delivery.fakes import free_port
from tests.delivery.fakes.http_servers import HttpFake, RawFake, Seen

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-test-auth-token"
SMS = {"channel": "sms", "target": "+14155552671", "content": "Your code is 123456"}
MESSAGES_PATH = f"/2010-04-01/Accounts/{SID}/Messages.json"


def twilio_error(code: int, message: str, status: int = 400) -> dict[str, Any]:
    """Twilio's documented error body."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def created(seen: Seen) -> tuple[int, Any, dict[str, str]]:
    return 201, {"sid": "SM" + "f" * 32, "status": "queued", "to": seen.form["To"]}, {}


@pytest.fixture
def twilio() -> Iterator[HttpFake]:
    fake = HttpFake().start()
    fake.respond = created
    yield fake
    fake.stop()


@pytest.fixture
def twilio_app(provider_app) -> Callable[..., Flask]:
    def _make(base: str, **overrides: Any) -> Flask:
        settings = {
            "SMS_PROVIDER": "twilio",
            "TWILIO_ACCOUNT_SID": SID,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_FROM": "+15005550006",
            "TWILIO_API_BASE": base,
            "TWILIO_TIMEOUT_S": "0.5",
        }
        return provider_app(settings, **overrides)

    return _make


def test_an_sms_is_sent_with_twilios_sid(twilio: HttpFake, twilio_app) -> None:
    response = twilio_app(twilio.url).test_client().post("/deliver", json=SMS)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["provider_message_id"] == "SM" + "f" * 32
    assert body["details"] == {"encoding": "GSM-7", "segments": 1, "provider": "twilio"}
    [seen] = twilio.requests
    assert seen.path == MESSAGES_PATH
    assert seen.form == {"To": "+14155552671", "Body": SMS["content"], "From": "+15005550006"}
    expected = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert seen.headers["Authorization"] == f"Basic {expected}"


def test_a_messaging_service_sid_is_sent_as_such(twilio: HttpFake, twilio_app) -> None:
    service = "MG" + "a" * 32
    app = twilio_app(twilio.url, TWILIO_FROM=service)
    assert app.test_client().post("/deliver", json=SMS).status_code == 200
    assert twilio.requests[0].form["MessagingServiceSid"] == service
    assert "From" not in twilio.requests[0].form


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (21211, "The 'To' number +14155552671 is not a valid phone number."),
        (21214, "'To' phone number cannot be reached"),
        (21408, "Permission to send an SMS has not been enabled for the region"),
        (21610, "Attempt to send to unsubscribed recipient"),
        (21612, "The 'To' phone number is not currently reachable via SMS"),
        (21614, "'To' number is not a valid mobile number"),
        (30003, "Unreachable destination handset"),
        (30005, "Unknown destination handset"),
        (30006, "Landline or unreachable carrier"),
    ],
)
def test_a_recipient_that_cannot_receive_is_rejected_with_twilios_message(
    twilio: HttpFake, twilio_app, assert_error, code: int, message: str
) -> None:
    twilio.respond = lambda seen: (400, twilio_error(code, message), {})
    client = twilio_app(twilio.url).test_client()
    body = assert_error(client.post("/deliver", json={**SMS, "idempotency_key": "k"}), 422)
    assert message in body["message"]
    assert str(code) in body["message"]
    assert body["rejected"] == "target"
    assert "errors" not in body
    # Rejected for good: the same key is rejected again, for the same reason, without
    # asking Twilio.
    again = assert_error(client.post("/deliver", json={**SMS, "idempotency_key": "k"}), 422)
    assert again == body
    assert len(twilio.requests) == 1


def test_another_400_is_a_refusal_of_the_message(twilio: HttpFake, twilio_app, assert_error):
    twilio.respond = lambda seen: (400, twilio_error(21617, "The body exceeds 1600 chars"), {})
    body = assert_error(twilio_app(twilio.url).test_client().post("/deliver", json=SMS), 422)
    assert "1600" in body["message"]
    assert body["rejected"] == "message"
    assert "errors" not in body


@pytest.mark.parametrize(
    ("status", "reply"),
    [
        (401, twilio_error(20003, "Authenticate", 401)),
        (403, twilio_error(20005, "Account not active", 403)),
        (404, twilio_error(20404, "The requested resource was not found", 404)),
        (400, twilio_error(21606, "The 'From' phone number is not SMS-capable")),
        (400, twilio_error(21659, "'From' is not a Twilio phone number")),
    ],
)
def test_refused_credentials_or_sender_are_a_503_and_an_error_log(
    twilio: HttpFake,
    twilio_app,
    assert_error,
    caplog: pytest.LogCaptureFixture,
    status: int,
    reply: dict,
) -> None:
    twilio.respond = lambda seen: (status, reply, {})
    client = twilio_app(twilio.url).test_client()
    with caplog.at_level(logging.ERROR, logger="delivery.providers"):
        response = client.post("/deliver", json=SMS)
    body = assert_error(response, 503)
    assert reply["message"] in body["message"]
    assert response.headers["Retry-After"]
    assert "configuration error" in caplog.text
    assert TOKEN not in caplog.text


@pytest.mark.parametrize(
    ("status", "reply", "headers", "retry_after"),
    [
        (429, twilio_error(20429, "Too Many Requests", 429), {"Retry-After": "7"}, "7"),
        (400, twilio_error(21611, "This 'From' number has exceeded the queue"), {}, None),
        (500, "<html>Internal Server Error</html>", {}, None),
        (503, twilio_error(20503, "Service unavailable", 503), {"Retry-After": "12"}, "12"),
        (400, "<html>Bad Request</html>", {}, None),  # no Twilio error body: nothing proves fault
        (302, "", {"Location": "https://example.com/"}, None),
    ],
)
def test_overload_outages_and_unknown_answers_are_a_503(
    twilio: HttpFake, twilio_app, assert_error, status, reply, headers, retry_after
) -> None:
    twilio.respond = lambda seen: (status, reply, headers)
    response = twilio_app(twilio.url).test_client().post("/deliver", json=SMS)
    assert_error(response, 503)
    if retry_after:
        assert response.headers["Retry-After"] == retry_after


def test_a_201_with_an_unreadable_body_counts_as_sent(twilio: HttpFake, twilio_app) -> None:
    """Twilio took the message: a 503 would make the dispatcher send it again."""
    twilio.respond = lambda seen: (201, "not json", {})
    response = twilio_app(twilio.url).test_client().post("/deliver", json=SMS)
    assert response.status_code == 200
    assert response.get_json()["provider_message_id"].startswith("twilio-unnamed-")


def test_a_hanging_twilio_is_a_503(twilio: HttpFake, twilio_app, assert_error) -> None:
    twilio.respond = lambda seen: (200, "HANG", {})
    body = assert_error(twilio_app(twilio.url).test_client().post("/deliver", json=SMS), 503)
    assert "did not answer" in body["message"]


@pytest.mark.parametrize(
    "reply",
    [
        b"this is no HTTP at all\r\n\r\n",
        b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
        b'Content-Length: 400\r\n\r\n{"sid": "SM',  # dropped mid-reply
        b"",  # closed without a word
    ],
)
def test_garbage_or_a_drop_mid_reply_is_a_503(twilio_app, assert_error, reply: bytes) -> None:
    raw = RawFake(reply).start()
    try:
        client = twilio_app(raw.url).test_client()
        assert_error(client.post("/deliver", json=SMS), 503)
    finally:
        raw.stop()
    assert raw.connections == 1  # no retry of our own: a retry could send twice


def test_nobody_listening_is_a_503(twilio_app, assert_error) -> None:
    client = twilio_app(f"http://127.0.0.1:{free_port()}").test_client()
    body = assert_error(client.post("/deliver", json=SMS), 503)
    assert "cannot be reached" in body["message"]


def test_sandbox_and_rules_never_reach_twilio(twilio: HttpFake, twilio_app, assert_error):
    client = twilio_app(twilio.url).test_client()
    sandboxed = client.post("/deliver", json={**SMS, "sandbox": True})
    assert sandboxed.get_json()["details"]["provider"] == "simulator"
    assert_error(client.post("/deliver", json={**SMS, "target": "+1 415 555 2671"}), 422)
    assert twilio.requests == []


def test_no_status_callback_is_asked_for_without_public_base_url(twilio: HttpFake, twilio_app):
    response = twilio_app(twilio.url).test_client().post("/deliver", json=SMS)
    assert response.status_code == 200, response.get_json()
    assert "StatusCallback" not in twilio.requests[0].form


@pytest.mark.parametrize("base", ["https://notify.example.com", "https://notify.example.com/"])
def test_every_message_asks_for_receipts_at_the_public_base_url(
    twilio: HttpFake, twilio_app, base: str
) -> None:
    client = twilio_app(twilio.url, PUBLIC_BASE_URL=base).test_client()
    for _ in range(2):
        assert client.post("/deliver", json=SMS).status_code == 200
    assert [seen.form["StatusCallback"] for seen in twilio.requests] == [
        "https://notify.example.com/receipts/twilio"
    ] * 2


def test_the_simulator_ignores_public_base_url(twilio: HttpFake, twilio_app) -> None:
    client = twilio_app(twilio.url, PUBLIC_BASE_URL="https://notify.example.com").test_client()
    response = client.post("/deliver", json={**SMS, "sandbox": True})
    assert response.get_json()["details"]["provider"] == "simulator"
    assert twilio.requests == []


@pytest.mark.parametrize(
    "value",
    [
        "notify.example.com",
        "ftp://notify.example.com",
        "https://",
        "https://a.com/?x=1",
        "http://a b",
    ],
)
def test_a_public_base_url_that_is_not_an_http_url_stops_startup(
    make_app: Callable[..., Flask], value: str
) -> None:
    with pytest.raises(ProviderSettingsError, match="PUBLIC_BASE_URL"):
        make_app(PUBLIC_BASE_URL=value)
