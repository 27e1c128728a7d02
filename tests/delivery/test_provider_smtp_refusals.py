"""EMAIL_PROVIDER=smtp against a real SMTP server (aiosmtpd): which refusals blame the
recipient and which the message, and the one-click unsubscribe headers as received."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.delivery.fakes.smtp_server import SmtpServer

URL = "https://notify.example.com/unsubscribe/eyJ1IjoxfQ.abc-DEF_123"


def email(target: str = "someone@example.com", **changes: Any) -> dict[str, Any]:
    return {
        "channel": "email",
        "title": "Your order",
        "content": "It has shipped.",
        "target": target,
        **changes,
    }


@pytest.mark.parametrize(
    ("target", "reply", "kind"),
    [
        ("refuse@example.com", "550 5.1.1", "target"),  # RCPT: unknown mailbox
        ("notallowed@example.com", "553 Requested action not taken", "target"),  # no 5.x.x
        ("relay@example.com", "550 5.7.1 Relaying denied", "message"),  # RCPT, but policy
        ("gone@example.com", "550 5.1.1 The email account", "target"),  # after DATA
        ("spam@example.com", "554 5.7.1 Message rejected as spam", "message"),
        ("big@example.com", "552 Message size exceeds", "message"),  # DATA, no 5.x.x
    ],
)
def test_a_refusal_says_whether_the_recipient_or_the_message_is_at_fault(
    smtp: SmtpServer,
    smtp_app: Callable,
    assert_error: Callable,
    target: str,
    reply: str,
    kind: str,
) -> None:
    client = smtp_app(smtp).test_client()
    request = email(target, idempotency_key="k")
    body = assert_error(client.post("/deliver", json=request), 422)
    assert reply in body["message"]
    assert body["rejected"] == kind
    assert "errors" not in body  # the provider's refusal is no validation error
    assert smtp.received == []
    # The same answer again, without a second try at the server.
    again = client.post("/deliver", json=request)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert assert_error(again, 422) == body


def test_the_unsubscribe_headers_arrive_exactly(smtp: SmtpServer, smtp_app: Callable) -> None:
    client = smtp_app(smtp).test_client()
    response = client.post("/deliver", json=email(list_unsubscribe=URL))
    assert response.status_code == 200, response.get_json()
    (received,) = smtp.received
    lines = received.data.decode("ascii").split("\r\n")
    assert f"List-Unsubscribe: <{URL}>" in lines
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in lines
    message = received.message
    assert message.get_all("List-Unsubscribe") == [f"<{URL}>"]
    assert message.get_all("List-Unsubscribe-Post") == ["List-Unsubscribe=One-Click"]
    assert "list_unsubscribe" not in response.get_json()["details"]


def test_a_long_unsubscribe_url_is_written_whole_never_encoded(
    smtp: SmtpServer, smtp_app: Callable
) -> None:
    url = "https://notify.example.com/unsubscribe/" + "a" * 900  # far beyond 78 columns
    subject = "Votre commande est expédiée " * 6  # non-ASCII and folded: unaffected
    response = (
        smtp_app(smtp)
        .test_client()
        .post("/deliver", json=email(list_unsubscribe=url, title=subject.strip()))
    )
    assert response.status_code == 200, response.get_json()
    (received,) = smtp.received
    assert f"List-Unsubscribe: <{url}>\r\n".encode() in received.data
    assert b"=?" not in received.data.split(b"List-Unsubscribe:")[1].split(b"\r\n")[0]
    assert received.message["Subject"] == subject.strip()


def test_every_unsubscribe_url_the_schema_accepts_arrives_whole_on_one_line(
    smtp: SmtpServer, smtp_app: Callable, assert_error: Callable
) -> None:
    """RFC 5322 caps a line at 998 characters and a URL cannot be folded, so the schema
    takes at most 978: the longest arrives byte for byte, one more is refused before
    anything is sent, with the schema's error shape (no `rejected`)."""
    client = smtp_app(smtp).test_client()
    longest = "https://notify.example.com/unsubscribe/" + "aZ0-_." * 156 + "x" * 3
    assert len(longest) == 978
    assert client.post("/deliver", json=email(list_unsubscribe=longest)).status_code == 200
    (received,) = smtp.received
    line = f"List-Unsubscribe: <{longest}>\r\n".encode("ascii")
    assert received.data.count(line) == 1
    assert len(line) == 998 + 2
    assert received.message.get_all("List-Unsubscribe") == [f"<{longest}>"]
    assert max(len(raw) for raw in received.data.split(b"\r\n")) <= 998

    body = assert_error(client.post("/deliver", json=email(list_unsubscribe=longest + "a")), 422)
    assert "978" in body["errors"]["json"]["list_unsubscribe"][0]
    assert "rejected" not in body
    assert len(smtp.received) == 1


def test_an_email_without_an_unsubscribe_url_has_no_such_headers(
    smtp: SmtpServer, smtp_app: Callable
) -> None:
    assert smtp_app(smtp).test_client().post("/deliver", json=email()).status_code == 200
    (received,) = smtp.received
    assert "List-Unsubscribe" not in received.message
    assert "List-Unsubscribe-Post" not in received.message


def test_a_server_without_smtputf8_blames_the_message_not_the_recipient(
    start_smtp: Callable[..., SmtpServer], smtp_app: Callable, assert_error: Callable
) -> None:
    """Another relay would take the address: it must not be held against the recipient."""
    smtp = start_smtp(smtputf8=False)
    response = smtp_app(smtp).test_client().post("/deliver", json=email("josé@example.com"))
    body = assert_error(response, 422)
    assert "SMTPUTF8" in body["message"]
    assert body["rejected"] == "message"
    assert "errors" not in body
