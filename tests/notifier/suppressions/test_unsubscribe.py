"""One-click unsubscribe: the link on a notification, the page, the POST, and the
dispatcher passing `list_unsubscribe` to the delivery service."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest
from itsdangerous import URLSafeSerializer

from notifier.extensions import db
from notifier.worker.runner import Dispatcher
from tests.dispatch_steps import dispatch_due
from tests.receipt_support import suppressions_of
from tests.webhook_support import Receiver, Reply

BASE = "https://notify.example.com"


@pytest.fixture(autouse=True)
def public_base_url(app) -> Iterator[None]:
    saved = {k: app.config.get(k) for k in ("PUBLIC_BASE_URL", "SECRET_KEY")}
    app.config["PUBLIC_BASE_URL"] = BASE
    yield
    app.config.update(saved)


def _path(url: str) -> str:
    assert url.startswith(f"{BASE}/unsubscribe/")
    return url.removeprefix(BASE)


def test_an_email_asking_for_it_gets_an_unsubscribe_url(api):
    body = api.create(201, unsubscribe=True).get_json()

    assert body["unsubscribe"] is True
    assert body["unsubscribe_url"].startswith(f"{BASE}/unsubscribe/")
    assert (
        api.get(f"/notifications/{body['id']}").get_json()["unsubscribe_url"]
        == (body["unsubscribe_url"])
    )


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"unsubscribe": False},
        {"unsubscribe": True, "channel": "sms", "target": "+14155550100"},
    ],
)
def test_other_notifications_have_no_unsubscribe_url(api, fields):
    assert api.create(201, **fields).get_json()["unsubscribe_url"] is None


def test_without_a_public_base_url_there_is_no_link(app, api):
    app.config["PUBLIC_BASE_URL"] = ""

    assert api.create(201, unsubscribe=True).get_json()["unsubscribe_url"] is None


def test_the_template_placeholder_renders_to_the_link(api):
    template = api.post(
        "/templates",
        201,
        json={
            "name": "news",
            "channel": "email",
            "title": "News",
            "content": "Stop: {{ unsubscribe_url }}",
        },
    ).get_json()

    body = api.post(
        "/notifications",
        201,
        json={"template_id": template["id"], "target": "A@example.com", "unsubscribe": True},
    ).get_json()

    assert body["content"] == f"Stop: {body['unsubscribe_url']}"


def test_posting_the_link_suppresses_the_address_once(api, client, user):
    url = api.create(201, unsubscribe=True, target="Ann@Example.com").get_json()["unsubscribe_url"]

    first = client.post(_path(url), data="List-Unsubscribe=One-Click")
    again = client.post(_path(url), data=b"\xff\x00anything")

    assert (first.status_code, first.get_json()) == (200, {"status": "unsubscribed"})
    assert (again.status_code, again.get_json()) == (200, {"status": "unsubscribed"})
    [entry] = suppressions_of(user.id)
    assert (entry.channel, entry.target, entry.reason) == (
        "email",
        "Ann@example.com",
        "unsubscribe",
    )
    refused = api.create(422, target="ann@example.com").get_json()
    assert "unsubscribed" in refused["errors"]["json"]["target"][0]


def test_a_get_shows_a_page_with_a_button_and_never_unsubscribes(api, client, user):
    url = api.create(201, unsubscribe=True).get_json()["unsubscribe_url"]

    page = client.get(_path(url))

    assert page.status_code == 200
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert 'method="post"' in html
    assert f'action="{_path(url)}"' in html
    assert "<button" in html
    assert suppressions_of(user.id) == []


@pytest.mark.parametrize(
    "token",
    [
        "nope",
        "x" * 10_240,
        "WzEsImVtYWlsIiwiYUBleGFtcGxlLmNvbSJd.forged",
        "%00",
    ],
)
def test_a_bad_token_is_404_for_get_and_post(client, token, user):
    assert client.get(f"/unsubscribe/{token}").status_code == 404
    response = client.post(f"/unsubscribe/{token}")
    assert response.status_code == 404
    assert response.get_json()["code"] == 404
    assert suppressions_of(user.id) == []


def test_a_token_signed_with_another_key_is_404(client, user):
    forged = URLSafeSerializer("another-key-of-at-least-32-bytes!!", salt="notifier.unsubscribe")
    token = forged.dumps([user.id, "email", "a@example.com", False])

    assert client.post(f"/unsubscribe/{token}").status_code == 404
    assert suppressions_of(user.id) == []


def test_an_altered_token_is_404(api, client, user):
    url = api.create(201, unsubscribe=True).get_json()["unsubscribe_url"]
    token = url.rsplit("/", 1)[1]
    payload, signature = token.split(".")
    altered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]

    assert client.post(f"/unsubscribe/{altered}.{signature}").status_code == 404
    assert suppressions_of(user.id) == []


def test_one_users_link_never_suppresses_the_address_for_another(api, other_api, client, user):
    url = api.create(201, unsubscribe=True, target="shared@example.com").get_json()[
        "unsubscribe_url"
    ]

    client.post(_path(url))

    other_api.create(201, target="shared@example.com")
    api.create(422, target="shared@example.com")


def test_the_link_of_a_deleted_user_is_404(api, client, user):
    url = api.create(201, unsubscribe=True).get_json()["unsubscribe_url"]
    db.session.delete(user)
    db.session.commit()

    assert client.post(_path(url)).status_code == 404


def test_secret_key_signs_the_tokens_when_set(app, api, client):
    default = api.create(201, unsubscribe=True).get_json()["unsubscribe_url"]
    app.config["SECRET_KEY"] = "a-separate-secret-key-of-32-bytes-or-more"

    assert api.create(201, unsubscribe=True).get_json()["unsubscribe_url"] != default
    assert client.post(_path(default)).status_code == 404


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


def _deliver_bodies(app, receiver: Receiver) -> dict[int, dict]:
    """Run one dispatch round against `receiver`: the `/deliver` bodies by notification."""
    from notifier.worker.policy import Settings

    receiver.default = Reply(
        200,
        {"Content-Type": "application/json"},
        json.dumps({"status": "sent", "provider_message_id": "p-1", "details": {}}).encode(),
    )
    settings = replace(
        Settings.from_config(app.config), service_url=receiver.url("").rstrip("/"), lease_s=30
    )
    dispatcher = Dispatcher(db.engine, settings)
    try:
        dispatch_due(dispatcher)
    finally:
        dispatcher.client.close()
        dispatcher.waiter.close()
    return {
        body["notification_id"]: body
        for body in (json.loads(r.body) for r in receiver.received("/deliver"))
    }


def test_the_dispatcher_sends_list_unsubscribe_to_the_delivery_service(app, api, receiver):
    with_link = api.create(201, unsubscribe=True).get_json()
    without = api.create(201, target="b@example.com").get_json()

    bodies = _deliver_bodies(app, receiver)

    assert bodies[with_link["id"]]["list_unsubscribe"] == with_link["unsubscribe_url"]
    assert "list_unsubscribe" not in bodies[without["id"]]


def test_an_http_link_is_not_sent_as_a_header_so_the_email_still_goes(app, api, receiver):
    # RFC 8058 (and the delivery service) want https; a development stack's base is http.
    app.config["PUBLIC_BASE_URL"] = "http://localhost:8000"
    created = api.create(201, unsubscribe=True).get_json()
    assert created["unsubscribe_url"].startswith("http://localhost:8000/unsubscribe/")

    bodies = _deliver_bodies(app, receiver)

    assert "list_unsubscribe" not in bodies[created["id"]]
    assert api.get(f"/notifications/{created['id']}").get_json()["status"] == "sent"


def test_a_sandbox_notifications_link_suppresses_nothing(make_key, client, user):
    test_key, _ = make_key(mode="test")
    body = {"title": "T", "content": "C", "channel": "email", "target": "a@example.com"}
    created = test_key.post("/notifications", 201, json={**body, "unsubscribe": True}).get_json()

    response = client.post(_path(created["unsubscribe_url"]))

    assert (response.status_code, response.get_json()) == (200, {"status": "unsubscribed"})
    assert suppressions_of(user.id) == []
