"""Control characters at the delivery service: a title holds none (line breaks and tabs
included), content none but line breaks and tabs: a permanent 422 naming the field, with
`rejected: "message"`, and nothing reaches the mail server. Should the email library still
refuse a header value, the answer is a 422 too: never a retryable 503, never a traceback in
the logs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from delivery.providers import GATEWAY_EXTENSION
from delivery.providers.base import Delivery
from delivery.providers.smtp import SmtpProvider
from tests.delivery.fakes.smtp_server import SmtpServer

# The characters that got through the CR/LF check, then line breaks and tabs, then
# both ends of C0 and C1.
LISTED = ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85"]
LINE_BREAKS_AND_TAB = ["\n", "\r", "\t"]
OTHERS = ["\x01", "\x1b", "\x1f", "\x7f", "\x80", "\x9f"]
TITLE_REFUSED = [*LISTED, *LINE_BREAKS_AND_TAB, *OTHERS, "\u2028"]
CONTENT_REFUSED = [*LISTED, *OTHERS]
PUSH_TOKEN = "device-token_" + "a1B2:c3.d4-" * 4


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpServer]:
    server = SmtpServer(tmp_path, security="none", auth=False).start()
    yield server
    server.stop()


@pytest.fixture
def smtp_app(make_app: Callable[..., Flask], smtp: SmtpServer) -> Iterator[Flask]:
    app = make_app(**smtp.settings())
    yield app
    app.extensions[GATEWAY_EXTENSION].close()


def _email(**changes: Any) -> dict[str, Any]:
    return {
        "channel": "email",
        "target": "someone@example.com",
        "title": "Your order",
        "content": "It has shipped.",
        **changes,
    }


def _refused_for(response, assert_error, field: str) -> None:
    body = assert_error(response, 422)
    assert list(body["errors"]["json"]) == [field]
    # What a text may hold is a channel rule, not a schema error: the message is at fault.
    assert body["rejected"] == "message"
    assert "Retry-After" not in response.headers


@pytest.mark.parametrize("char", TITLE_REFUSED, ids=ascii)
def test_an_email_title_with_a_control_character_is_422_and_not_sent(
    smtp_app: Flask, smtp: SmtpServer, assert_error, char: str
) -> None:
    response = smtp_app.test_client().post("/deliver", json=_email(title=f"Your{char}order"))
    _refused_for(response, assert_error, "title")
    assert smtp.received == []


@pytest.mark.parametrize("char", TITLE_REFUSED, ids=ascii)
def test_a_push_title_with_a_control_character_is_422(client, assert_error, char: str) -> None:
    body = {"channel": "push", "target": PUSH_TOKEN, "title": f"Hi{char}", "content": "x"}
    _refused_for(client.post("/deliver", json=body), assert_error, "title")


@pytest.mark.parametrize("channel", ["email", "sms", "push"])
@pytest.mark.parametrize("char", CONTENT_REFUSED, ids=ascii)
def test_content_with_a_control_character_other_than_a_line_break_or_tab_is_422(
    client, message, assert_error, channel: str, char: str
) -> None:
    body = message(channel, content=f"Line one{char}line two")
    _refused_for(client.post("/deliver", json=body), assert_error, "content")


def test_content_with_line_breaks_and_tabs_is_emailed_as_it_is(
    smtp_app: Flask, smtp: SmtpServer
) -> None:
    content = "Dear Ann,\n\tyour order\nhas shipped."
    response = smtp_app.test_client().post("/deliver", json=_email(content=content))
    assert response.status_code == 200, response.get_json()
    [received] = smtp.received
    assert received.message.get_content().replace("\r\n", "\n").rstrip("\n") == content


# --- the provider itself, past the rules --------------------------------------------------


@pytest.mark.parametrize(
    ("delivery", "field"),
    [
        (Delivery("email", "someone@example.com", "Your\x85order", "Body", {}), "title"),
        (Delivery("email", "someone@example.com", "Your\x0border", "Body", {}), "title"),
        (Delivery("email", "someone@example.com", "Your\u2028order", "Body", {}), "title"),
        (Delivery("email", "some\x1eone@example.com", "Hi", "Body", {}), "target"),
    ],
    ids=["NEL in the subject", "VT in the subject", "U+2028 in the subject", "RS in To"],
)
def test_a_header_the_email_library_refuses_is_a_permanent_422_without_a_traceback(
    smtp: SmtpServer, caplog: pytest.LogCaptureFixture, delivery: Delivery, field: str
) -> None:
    provider = SmtpProvider.from_config(smtp.settings())
    try:
        with caplog.at_level(logging.DEBUG):
            answer = provider.send(delivery)
        good = provider.send(Delivery("email", "someone@example.com", "Hi", "Body", {}))
    finally:
        provider.close()
    assert answer.status == 422
    assert list(answer.body["errors"]["json"]) == [field]
    assert "\x85" not in answer.body["message"] and "\x0b" not in answer.body["message"]
    assert not any(record.exc_info for record in caplog.records)
    assert not any(record.levelno >= logging.ERROR for record in caplog.records)
    assert good.status == 200  # the session was not left half-way through a transaction
    assert len(smtp.received) == 1
