"""The Python client (clients/python) against the live API over HTTP: sign in, send, list
lazily, read, edit, errors, idempotent retries, API keys, verified webhooks, its version."""

from __future__ import annotations

import importlib.metadata
import itertools
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import notifier_client
import pytest
import requests
from notifier_client import Client, NotifierError, verify_webhook
from standardwebhooks import Webhook

from config import BaseConfig
from tests.integration.webhooks.conftest import drain

ROOT = Path(__file__).resolve().parents[2]
EMAIL = {"channel": "email", "title": "Hello", "content": "Your order has shipped."}


PASSWORD = "correct horse 1"


def register(url: str, email: str = "ada@example.com") -> None:
    body = {"name": "Ada", "email": email, "password": PASSWORD}
    assert requests.post(f"{url}/users", json=body, timeout=10).status_code == 201


@pytest.fixture
def token(live_url) -> str:
    register(live_url)
    login = {"email": "ada@example.com", "password": PASSWORD}
    return requests.post(f"{live_url}/auth/login", json=login, timeout=10).json()["access_token"]


@pytest.fixture
def client(live_url, token) -> Iterator[Client]:
    with Client(live_url, token=token) as signed_in:
        yield signed_in


def call(live_url: str, token: str, method: str, path: str, **kwargs) -> requests.Response:
    """The API without the client, for what the client does not do (keys, webhooks)."""
    headers = {"Authorization": f"Bearer {token}"}
    response = requests.request(method, live_url + path, headers=headers, timeout=10, **kwargs)
    response.raise_for_status()
    return response


def test_a_new_user_registers_logs_in_sends_and_reads_the_notification_back(live_url):
    register(live_url, "grace@example.com")
    with Client.login(live_url, "grace@example.com", PASSWORD) as client:
        sent = client.send(target="ada@example.com", **EMAIL)
        assert sent["status"] == "pending"
        assert sent["target"] == "ada@example.com"
        assert client.get(sent["id"]) == sent


def test_login_with_a_wrong_password_raises_401(live_url):
    register(live_url)
    with pytest.raises(NotifierError) as caught:
        Client.login(live_url, "ada@example.com", "wrong password!")
    assert caught.value.status == 401
    assert caught.value.message


def test_the_list_walks_every_page_lazily_newest_first(client):
    sent = [client.send(target=f"user{i}@example.com", **EMAIL)["id"] for i in range(5)]
    client.send(target="+14155552671", channel="sms", title="Code", content="1234")
    emails = client.notifications(channel="email", page_size=2)  # nothing fetched yet
    assert [n["id"] for n in emails] == sent[::-1]  # three pages of 2, 2 and 1
    first_two = itertools.islice(client.notifications(page_size=2), 2)
    assert [n["channel"] for n in first_two] == ["sms", "email"]
    assert list(client.notifications(status="sent")) == []


def test_an_unknown_notification_raises_notifier_error_with_404(client):
    with pytest.raises(NotifierError) as caught:
        client.get(999_999)
    assert caught.value.status == 404
    assert caught.value.message == "Notification not found."
    assert caught.value.errors is None


def test_an_invalid_send_raises_422_naming_every_bad_field(client):
    with pytest.raises(NotifierError) as caught:
        client.send(target="ada@example.com", channel="fax", title="", content="x")
    assert caught.value.status == 422
    assert set(caught.value.errors["json"]) == {"channel", "title"}
    assert list(client.notifications()) == []


def test_update_attempts_and_delete_reach_the_notification(client):
    sent = client.send(target="ada@example.com", **EMAIL)
    assert client.update(sent["id"], title="Shipped!", scheduled_at=None)["title"] == "Shipped!"
    assert client.attempts(sent["id"]) == []
    assert client.delete(sent["id"]) is None
    with pytest.raises(NotifierError) as caught:
        client.get(sent["id"])
    assert caught.value.status == 404


def test_a_send_answered_503_after_the_api_created_it_is_retried_into_one_notification(
    client, token, flaky_proxy
):
    """The answer is lost behind a proxy (503, then a dropped connection): the retries
    carry the call's one Idempotency-Key, so the API replays the first notification."""
    through_proxy = Client(flaky_proxy.url, token=token)
    flaky_proxy.spoil.extend(["503", "drop"])
    sent = through_proxy.send(target="ada@example.com", **EMAIL)
    assert flaky_proxy.forwarded == 3  # every try reached the API
    assert [n["id"] for n in client.notifications()] == [sent["id"]]
    keys = {seen.headers["Idempotency-Key"] for seen in flaky_proxy.seen}
    assert len(keys) == 1


def test_a_send_refused_with_503_every_time_raises_after_three_tries_and_sends_nothing(
    client, token, flaky_proxy
):
    flaky_proxy.spoil.extend(["refuse"] * 3)
    with pytest.raises(NotifierError) as caught:
        Client(flaky_proxy.url, token=token).send(target="ada@example.com", **EMAIL)
    assert caught.value.status == 503
    assert len(flaky_proxy.seen) == 3
    assert list(client.notifications()) == []


def test_an_api_key_sends_as_its_user(client, live_url, token):
    made = call(live_url, token, "POST", "/api-keys", json={"name": "server"}).json()
    with Client(live_url, api_key=made["key"]) as server:
        sent = server.send(target="ada@example.com", **EMAIL)
    assert sent["api_key_id"] == made["id"]
    assert client.get(sent["id"])["api_key_id"] == made["id"]


def test_verify_webhook_accepts_the_apps_signed_request_and_refuses_a_forged_one(
    live_url, token, local_webhooks, make_sender, receiver
):
    webhook = call(live_url, token, "POST", "/webhooks", json={"url": receiver.url()}).json()
    call(live_url, token, "POST", f"/webhooks/{webhook['id']}/test")
    drain(make_sender())
    (request,) = receiver.received()

    event = verify_webhook(request.body, request.headers, webhook["secret"])
    assert event["type"] == "webhook.test"
    assert event["data"] == {"webhook_id": webhook["id"]}

    forged = request.body.replace(b"webhook.test", b"webhook.tesT")
    other_secret = "whsec_" + "A" * 43 + "="
    for body, headers, secret in [
        (forged, request.headers, webhook["secret"]),
        (request.body, request.headers, other_secret),
        (request.body, {"webhook-id": request.headers["webhook-id"]}, webhook["secret"]),
        (request.body, {**request.headers, "webhook-signature": "v1"}, webhook["secret"]),
        (request.body, request.headers, ""),
    ]:
        with pytest.raises(NotifierError) as caught:
            verify_webhook(body, headers, secret)
        assert caught.value.status is None
        assert caught.value.message.startswith("webhook not verified")


def test_verify_webhook_accepts_what_the_standard_webhooks_library_signs():
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = '{"type": "notification.sent", "data": {"id": 1}}'
    now = datetime.now(UTC)
    headers = {
        "Webhook-Id": "msg_1",
        "Webhook-Timestamp": str(int(now.timestamp())),
        "Webhook-Signature": Webhook(secret).sign("msg_1", now, body),
    }
    assert verify_webhook(body.encode(), headers, secret)["data"] == {"id": 1}


def test_verify_webhook_refuses_a_signed_body_that_is_not_an_event():
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    now = datetime.now(UTC)
    headers = {
        "webhook-id": "msg_2",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign("msg_2", now, "[1, 2]"),
    }
    with pytest.raises(NotifierError, match="not a JSON object"):
        verify_webhook(b"[1, 2]", headers, secret)


def test_the_client_version_is_the_apis_version(live_url):
    openapi = requests.get(f"{live_url}/openapi.json", timeout=10).json()
    pyproject = tomllib.loads((ROOT / "clients/python/pyproject.toml").read_text())
    assert notifier_client.__version__ == BaseConfig.API_VERSION == openapi["info"]["version"]
    assert pyproject["project"]["version"] == notifier_client.__version__
    assert importlib.metadata.version("notifier-client") == notifier_client.__version__
    assert pyproject["project"]["dependencies"] == ["requests>=2.28", "standardwebhooks>=1.0"]
    assert (ROOT / "clients/python/src/notifier_client/py.typed").is_file()
