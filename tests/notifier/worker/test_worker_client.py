"""DeliveryClient: the request it sends and how every kind of answer is classified."""

from __future__ import annotations

import json
import socket
from datetime import timedelta
from email.utils import format_datetime

import pytest

from notifier.database import utcnow
from notifier.worker.answers import parse_retry_after
from notifier.worker.client import DeliveryClient, DeliveryRequest
from tests.notifier.worker.conftest import DELIVER, error_answer, sent_answer

REQUEST = DeliveryRequest(
    notification_id=7,
    idempotency_key="0123456789abcdef0123456789abcdef",
    channel="email",
    target="alice@example.com",
    title="Hello",
    content="Your order has shipped. ✓",
)


@pytest.fixture
def client(mocked):
    client = DeliveryClient(mocked.url + "/", timeout_s=0.5, pool_size=4)
    yield client
    client.close()


def test_it_posts_the_documented_body_as_utf8_json(client, mocked):
    mocked.post(DELIVER, json=sent_answer())
    client.deliver(REQUEST)
    sent = mocked.calls[0].request
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.body.decode("utf-8")) == {
        "notification_id": 7,
        "idempotency_key": REQUEST.idempotency_key,
        "channel": "email",
        "target": "alice@example.com",
        "title": "Hello",
        "content": "Your order has shipped. ✓",
        "sandbox": False,
    }


def test_200_is_sent_with_the_provider_message_id(client, mocked):
    mocked.post(DELIVER, json=sent_answer("sim-42"))
    result = client.deliver(REQUEST)
    assert result.outcome == "sent"
    assert result.http_status == 200
    assert result.provider_message_id == "sim-42"
    assert result.error is None
    assert result.started_at <= result.finished_at
    assert result.duration_ms >= 0


def test_422_is_rejected_with_the_services_reason(client, mocked):
    mocked.post(
        DELIVER,
        status=422,
        json=error_answer(422, "Unprocessable Entity", "The target is not a valid address."),
    )
    result = client.deliver(REQUEST)
    assert (result.outcome, result.http_status) == ("rejected", 422)
    assert result.error == "The target is not a valid address."
    assert not result.retryable


@pytest.mark.parametrize("kind", ["target", "message"])
def test_422_tells_whether_the_recipient_or_the_message_was_refused(client, mocked, kind):
    answer = {**error_answer(422, "Unprocessable Entity", "User unknown."), "rejected": kind}
    mocked.post(DELIVER, status=422, json=answer)
    result = client.deliver(REQUEST)
    assert (result.outcome, result.rejected_kind) == ("rejected", kind)


@pytest.mark.parametrize("kind", [None, "everything", ["target"]])
def test_422_that_does_not_say_what_was_refused_has_no_kind(client, mocked, kind):
    answer = {**error_answer(422, "Unprocessable Entity", "Invalid target."), "rejected": kind}
    mocked.post(DELIVER, status=422, json=answer)
    assert client.deliver(REQUEST).rejected_kind is None


def test_only_a_422_has_a_rejection_kind(client, mocked):
    mocked.post(DELIVER, status=400, json={**error_answer(400, "Bad", "x"), "rejected": "target"})
    assert client.deliver(REQUEST).rejected_kind is None


def test_the_unsubscribe_url_is_sent_only_when_there_is_one(client, mocked):
    mocked.post(DELIVER, json=sent_answer())
    url = "https://notify.example.com/unsubscribe/abc"
    client.deliver(DeliveryRequest(**{**REQUEST.__dict__, "list_unsubscribe": url}))
    client.deliver(REQUEST)
    first, second = (json.loads(call.request.body) for call in mocked.calls)
    assert first["list_unsubscribe"] == url
    assert "list_unsubscribe" not in second


def test_422_without_a_message_is_rejected_with_a_generic_reason(client, mocked):
    mocked.post(DELIVER, status=422, body="nope")
    result = client.deliver(REQUEST)
    assert result.outcome == "rejected"
    assert result.error == "The provider rejected the notification."


def test_503_is_unavailable_and_keeps_retry_after(client, mocked):
    mocked.post(
        DELIVER,
        status=503,
        json=error_answer(503, "Service Unavailable", "Try later."),
        headers={"Retry-After": "7"},
    )
    result = client.deliver(REQUEST)
    assert (result.outcome, result.http_status, result.retry_after_s) == ("unavailable", 503, 7.0)
    assert "Try later." in result.error
    assert result.retryable


@pytest.mark.parametrize("status", [500, 502, 504, 599])
def test_any_5xx_is_unavailable(client, mocked, status):
    mocked.post(DELIVER, status=status, body="<html><body>Bad gateway</body></html>")
    result = client.deliver(REQUEST)
    assert (result.outcome, result.http_status) == ("unavailable", status)
    assert f"HTTP {status}" in result.error
    assert result.retry_after_s is None


@pytest.mark.parametrize("status", [400, 404, 405, 413])
def test_other_4xx_are_rejected_because_repeating_the_request_cannot_help(client, mocked, status):
    mocked.post(DELIVER, status=status, json=error_answer(status, "Bad", "Your request is wrong."))
    result = client.deliver(REQUEST)
    assert (result.outcome, result.http_status) == ("rejected", status)
    assert f"HTTP {status}" in result.error
    assert "Your request is wrong." in result.error


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_are_retried_because_the_message_is_not_at_fault(
    client, mocked, status, caplog
):
    mocked.post(DELIVER, status=status, json=error_answer(status, "Unauthorized", "Token."))
    result = client.deliver(REQUEST)
    assert (result.outcome, result.http_status) == ("unavailable", status)
    assert "DELIVERY_API_TOKEN" in result.error
    assert any("DELIVERY_API_TOKEN" in record.getMessage() for record in caplog.records)


def test_the_client_sends_the_delivery_services_token_on_every_request(mocked):
    token = "t" * 40
    client = DeliveryClient(mocked.url, timeout_s=1.0, api_token=token)
    mocked.post(DELIVER, json=sent_answer())
    client.deliver(REQUEST)
    client.deliver(REQUEST)
    client.close()
    assert [call.request.headers["Authorization"] for call in mocked.calls] == [
        f"Bearer {token}"
    ] * 2


def test_without_a_token_the_client_sends_no_authorization_header(client, mocked):
    mocked.post(DELIVER, json=sent_answer())
    client.deliver(REQUEST)
    assert "Authorization" not in mocked.calls[0].request.headers


@pytest.mark.parametrize("status", [408, 429])
def test_408_and_429_mean_later_so_they_are_unavailable(client, mocked, status):
    mocked.post(DELIVER, status=status, headers={"Retry-After": "3"})
    result = client.deliver(REQUEST)
    assert (result.outcome, result.retry_after_s) == ("unavailable", 3.0)


def test_a_redirect_is_not_followed_and_is_retried_later(client, mocked):
    mocked.post(DELIVER, status=307, headers={"Location": "http://elsewhere.test/deliver"})
    result = client.deliver(REQUEST)
    assert (result.outcome, result.http_status) == ("unavailable", 307)
    assert len(mocked.calls) == 1


@pytest.mark.parametrize(
    "body",
    [
        "this is not json",
        "<html>OK</html>",
        json.dumps({"status": "sent"}),
        json.dumps({"status": "sent", "provider_message_id": ""}),
        json.dumps({"status": "sent", "provider_message_id": 12}),
        json.dumps({"status": "sent", "provider_message_id": "x" * 256}),
        json.dumps(["sent"]),
        "",
    ],
)
def test_a_200_without_a_usable_provider_message_id_is_retried(client, mocked, body):
    mocked.post(DELIVER, status=200, body=body, content_type="application/json")
    result = client.deliver(REQUEST)
    assert (result.outcome, result.http_status) == ("unavailable", 200)
    assert "provider_message_id" in result.error


def test_a_timeout_is_unavailable_without_a_status(client, mocked):
    mocked.post(DELIVER, fault="silence")
    result = client.deliver(REQUEST)
    assert (result.outcome, result.http_status) == ("unavailable", None)
    assert result.error == "No answer from the delivery service within 0.5 s."


def test_a_connection_closed_without_an_answer_is_unavailable_and_not_retried_at_once(
    client, mocked
):
    mocked.post(DELIVER, fault="drop")
    result = client.deliver(REQUEST)
    assert (result.outcome, result.http_status) == ("unavailable", None)
    assert result.error.startswith("Could not reach the delivery service: ")
    assert "RemoteDisconnected" in result.error
    assert len(mocked.calls) == 1  # no retry inside the client: the dispatcher retries


def test_an_answer_cut_short_is_unavailable(client, mocked):
    mocked.post(DELIVER, json=sent_answer(), fault="truncated")
    result = client.deliver(REQUEST)
    assert (result.outcome, result.http_status) == ("unavailable", None)
    assert result.error.startswith("Bad answer from the delivery service: ")
    assert "IncompleteRead" in result.error


def test_connection_refused_on_a_real_socket_is_unavailable():
    with socket.socket() as probe:  # a port that nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = DeliveryClient(f"http://127.0.0.1:{port}", timeout_s=1.0)
    result = client.deliver(REQUEST)
    client.close()
    assert (result.outcome, result.http_status) == ("unavailable", None)
    assert "refused" in result.error.lower()


def test_a_long_error_message_is_shortened(client, mocked):
    mocked.post(DELIVER, status=422, json=error_answer(422, "Unprocessable", "x" * 5000))
    result = client.deliver(REQUEST)
    assert len(result.error) <= 500


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("", None),
        ("5", 5.0),
        (" 2.5 ", 2.5),
        ("-3", 0.0),
        ("soon", None),
        ("nan", None),
        ("inf", None),
    ],
)
def test_retry_after_in_seconds(header, seconds):
    assert parse_retry_after(header) == seconds


def test_retry_after_as_an_http_date():
    now = utcnow().replace(microsecond=0)
    header = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(header, now=now) == 30.0
    assert parse_retry_after(format_datetime(now - timedelta(hours=1), usegmt=True), now=now) == 0


def test_unsendable_text_raises_before_anything_is_sent(client, mocked):
    """A lone surrogate cannot be encoded. The dispatcher turns that into a retry
    (test_dispatcher_outcomes covers it); the client sends nothing."""
    mocked.post(DELIVER, json=sent_answer())
    broken = DeliveryRequest(1, "k" * 32, "email", "a@example.com", "t", "\ud800")
    with pytest.raises(UnicodeEncodeError):
        client.deliver(broken)
    assert not mocked.calls


def test_control_characters_never_reach_the_database(client, mocked):
    mocked.post(
        DELIVER,
        status=422,
        json=error_answer(422, "Unprocessable Entity", "bad\x00 target\x1b[31m\nreally"),
    )
    result = client.deliver(REQUEST)
    assert result.error == "bad target [31m really"


def test_a_provider_id_with_control_characters_is_not_usable(client, mocked):
    mocked.post(DELIVER, json=sent_answer("sim\x00-1"))
    assert client.deliver(REQUEST).outcome == "unavailable"
