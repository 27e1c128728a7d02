"""EMAIL_PROVIDER=smtp against a real SMTP server (aiosmtpd) with STARTTLS, implicit TLS, AUTH."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from delivery.providers.base import Delivery
from delivery.providers.smtp import SmtpProvider
from tests.delivery.fakes import free_port
from tests.delivery.fakes.smtp_server import PASSWORD, SmtpServer

EMAIL = {"channel": "email", "title": "Your order", "content": "It has shipped."}


def email(target: str = "someone@example.com", **changes: Any) -> dict[str, Any]:
    return {**EMAIL, "target": target, **changes}


def test_an_email_arrives_with_the_documented_headers(smtp: SmtpServer, smtp_app) -> None:
    client = smtp_app(smtp).test_client()
    content = "Grüße aus Köln ✓\nZweite Zeile.\n.\nA line that is only a dot, above."
    response = client.post(
        "/deliver", json=email("Someone@Example.com", title="Ihre Bestellung ✓", content=content)
    )

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["details"] == {"bytes": len(content.encode()), "provider": "smtp"}
    [received] = smtp.received
    assert received.mail_from == "no-reply@notifier.test"  # EMAIL_FROM's address
    assert received.rcpt_tos == ["Someone@example.com"]  # the normalised target
    message = received.message
    assert message["From"] == "Notifier <no-reply@notifier.test>"
    assert message["To"] == "Someone@example.com"
    assert message["Subject"] == "Ihre Bestellung ✓"
    assert message["Date"].datetime.tzinfo is not None
    assert message["Message-ID"] == f"<{body['provider_message_id']}>"
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    # MIME's canonical text form has CRLF line ends, which a mail reader shows as lines.
    assert message.get_content().replace("\r\n", "\n").rstrip("\n") == content


def test_no_subject_header_when_the_title_is_empty(smtp: SmtpServer) -> None:
    provider = SmtpProvider.from_config(smtp.settings())
    try:
        answer = provider.send(Delivery("email", "a@example.com", None, "Body", {"bytes": 4}))
    finally:
        provider.close()
    assert answer.status == 200
    assert "Subject" not in smtp.received[0].message


def test_connections_are_reused_between_messages(smtp: SmtpServer, smtp_app) -> None:
    client = smtp_app(smtp).test_client()
    for number in range(3):
        response = client.post("/deliver", json=email(f"user{number}@example.com"))
        assert response.status_code == 200
    assert len(smtp.received) == 3
    assert len({received.session for received in smtp.received}) == 1


def test_a_dropped_connection_is_reopened_and_the_message_sent_once(
    smtp: SmtpServer, smtp_app
) -> None:
    client = smtp_app(smtp).test_client()
    assert client.post("/deliver", json=email("first@example.com")).status_code == 200
    smtp.drop_connections()  # the server restarted, or timed the idle session out

    response = client.post("/deliver", json=email("second@example.com", idempotency_key="k2"))
    assert response.status_code == 200
    assert [received.rcpt_tos for received in smtp.received] == [
        ["first@example.com"],
        ["second@example.com"],
    ]
    assert smtp.received[0].session != smtp.received[1].session
    assert client.post("/deliver", json=email("third@example.com")).status_code == 200
    assert smtp.received[2].session == smtp.received[1].session  # the new one is reused


def test_concurrent_messages_share_a_bounded_pool(smtp: SmtpServer, smtp_app) -> None:
    app = smtp_app(smtp, SMTP_POOL_SIZE="3")

    def send(number: int) -> int:
        body = email(f"user{number}@example.com", idempotency_key=f"k{number}")
        return app.test_client().post("/deliver", json=body).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(send, range(20)))
    assert statuses == [200] * 20
    assert len(smtp.received) == 20
    assert len({received.session for received in smtp.received}) <= 3


def test_a_550_is_rejected_with_the_servers_reply(smtp: SmtpServer, smtp_app, assert_error):
    client = smtp_app(smtp).test_client()
    body = assert_error(client.post("/deliver", json=email("refuse@example.com")), 422)
    assert "550" in body["message"]
    assert "Recipient address rejected" in body["message"]
    assert body["rejected"] == "target"
    assert "errors" not in body
    assert smtp.received == []
    # The session survived the refusal (RSET): the next message goes on it.
    assert client.post("/deliver", json=email()).status_code == 200
    assert len({received.session for received in smtp.received}) == 1


def test_a_451_is_unavailable_with_retry_after(smtp: SmtpServer, smtp_app, assert_error):
    response = smtp_app(smtp).test_client().post("/deliver", json=email("later@example.com"))
    body = assert_error(response, 503)
    assert "451" in body["message"]
    assert int(response.headers["Retry-After"]) >= 1


@pytest.mark.parametrize(
    ("target", "overrides", "words"),
    [
        ("drop@example.com", {}, "closed the connection"),
        ("garbage@example.com", {}, "unreadable reply"),
        ("hang@example.com", {"SMTP_TIMEOUT_S": "0.5"}, "SMTP_TIMEOUT_S"),
    ],
)
def test_a_server_that_drops_garbles_or_hangs_is_unavailable(
    smtp: SmtpServer, smtp_app, assert_error, target: str, overrides: dict, words: str
) -> None:
    client = smtp_app(smtp, **overrides).test_client()
    body = assert_error(client.post("/deliver", json=email(target, idempotency_key="k")), 503)
    assert words in body["message"]
    assert smtp.received == []
    # Not remembered: the retry with the same key is decided again (and sent once).
    smtp.handler.received.clear()
    assert client.post("/deliver", json=email(idempotency_key="k")).status_code == 200
    assert client.post("/deliver", json=email(idempotency_key="k")).status_code == 200
    assert len(smtp.received) == 1


def test_a_wrong_password_is_a_503_and_an_error_log(
    smtp: SmtpServer, smtp_app, assert_error, caplog: pytest.LogCaptureFixture
) -> None:
    client = smtp_app(smtp, SMTP_PASSWORD="wrong password").test_client()
    with caplog.at_level(logging.ERROR, logger="delivery.providers"):
        body = assert_error(client.post("/deliver", json=email()), 503)
    assert "535" in body["message"]
    assert "configuration" in body["message"]
    assert any("configuration error" in record.getMessage() for record in caplog.records)
    assert "wrong password" not in caplog.text
    assert PASSWORD not in caplog.text
    assert smtp.received == []


def test_missing_credentials_are_a_503_not_a_rejection(smtp: SmtpServer, smtp_app, assert_error):
    client = smtp_app(smtp, SMTP_USERNAME="", SMTP_PASSWORD="").test_client()
    body = assert_error(client.post("/deliver", json=email()), 503)
    assert "530" in body["message"]


def test_an_untrusted_certificate_is_a_503_and_verification_stays_on(
    smtp: SmtpServer, smtp_app, assert_error, caplog: pytest.LogCaptureFixture
) -> None:
    client = smtp_app(smtp, SMTP_CA_FILE="").test_client()  # the system's CAs only
    with caplog.at_level(logging.ERROR, logger="delivery.providers"):
        body = assert_error(client.post("/deliver", json=email()), 503)
    assert "certificate" in body["message"]
    assert "TLS certificate" in caplog.text
    assert smtp.received == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # TLS from the start
def test_implicit_tls(start_smtp, smtp_app) -> None:
    server = start_smtp(security="ssl")
    response = smtp_app(server).test_client().post("/deliver", json=email())
    assert response.status_code == 200, response.get_json()
    assert len(server.received) == 1


def test_plain_smtp_without_auth(start_smtp, smtp_app) -> None:
    server = start_smtp(security="none", auth=False)
    response = smtp_app(server).test_client().post("/deliver", json=email())
    assert response.status_code == 200, response.get_json()
    assert len(server.received) == 1


def test_nobody_listening_is_a_503(smtp: SmtpServer, smtp_app, assert_error) -> None:
    client = smtp_app(smtp, SMTP_PORT=str(free_port())).test_client()
    body = assert_error(client.post("/deliver", json=email()), 503)
    assert "cannot be reached" in body["message"]


def test_sandbox_is_answered_by_the_simulator(smtp: SmtpServer, smtp_app) -> None:
    client = smtp_app(smtp).test_client()
    response = client.post("/deliver", json=email(sandbox=True))
    assert response.status_code == 200
    assert response.get_json()["details"]["provider"] == "simulator"
    assert response.get_json()["provider_message_id"].startswith("sim-")
    hook = client.post("/deliver", json=email("reject@example.com", sandbox=True))
    assert hook.status_code == 422  # the simulator's hooks work in the sandbox
    assert smtp.received == []


def test_channel_rules_come_before_the_provider(smtp: SmtpServer, smtp_app, assert_error):
    client = smtp_app(smtp).test_client()
    body = assert_error(client.post("/deliver", json=email("not-an-address")), 422)
    assert "target" in body["errors"]["json"]
    assert smtp.received == []


def test_a_repeated_key_is_sent_once(smtp: SmtpServer, smtp_app) -> None:
    client = smtp_app(smtp).test_client()
    first = client.post("/deliver", json=email(idempotency_key="once"))
    again = client.post("/deliver", json=email(idempotency_key="once"))
    assert first.status_code == again.status_code == 200
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(smtp.received) == 1
