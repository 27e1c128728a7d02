"""The /webhooks routes: bodies, validation, limits, ownership, rotation, test, the log."""

from __future__ import annotations

import base64
import json

import pytest

from notifier.extensions import db
from notifier.webhooks.models import WebhookDelivery
from tests.webhook_support import PUBLIC_URL, make_webhook

ALL_EVENTS = [
    "notification.sent",
    "notification.failed",
    "notification.retrying",
    "notification.delivered",
]
FIELDS = {"id", "url", "events", "description", "enabled", "created_at", "updated_at"}


def _errors(response) -> dict:
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["code"] == 422 and body["message"]
    return body["errors"]["json"]


def test_create_answers_the_webhook_with_its_secret_once(api):
    response = make_webhook(api)
    body = response.get_json()
    assert set(body) == FIELDS | {"secret"}
    assert response.headers["Location"] == f"/webhooks/{body['id']}"
    assert body["url"] == PUBLIC_URL
    assert body["events"] == ALL_EVENTS
    assert body["description"] is None
    assert body["enabled"] is True
    assert body["created_at"].endswith("+00:00")
    assert body["secret"].startswith("whsec_")
    assert len(base64.b64decode(body["secret"].removeprefix("whsec_"))) == 32
    again = api.get(f"/webhooks/{body['id']}").get_json()
    assert "secret" not in again
    assert set(again) == FIELDS
    assert body["secret"] not in json.dumps(api.get("/webhooks").get_json())


def test_create_with_some_events_and_a_description(api):
    body = make_webhook(
        api, events=["notification.failed", "notification.failed"], description="  Ops  "
    ).get_json()
    assert body["events"] == ["notification.failed"]
    assert body["description"] == "  Ops  "


def test_one_422_names_every_invalid_field(api):
    response = api.post(
        "/webhooks",
        json={"url": "http://93.184.215.14/x", "events": ["bogus"], "description": "x" * 201},
    )
    assert set(_errors(response)) == {"url", "events", "description"}


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "https://",
        "ftp://93.184.215.14/x",
        "http://93.184.215.14/x",
        "https://user:secret@93.184.215.14/x",
        "https://user@93.184.215.14/x",
        "https://93.184.215.14:99999/x",
        "https://93.184.215.14/\x00",
        "https://93.184.215.14/" + "a" * 2030,
        "https://" + "a" * 10_000 + ".com/",
        "",
    ],
)
def test_bad_urls_are_422(api, url):
    assert "url" in _errors(api.post("/webhooks", json={"url": url}))


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"url": 5},
        {"url": PUBLIC_URL, "events": []},
        {"url": PUBLIC_URL, "events": "notification.sent"},
        {"url": PUBLIC_URL, "events": ["webhook.test"]},
        {"url": PUBLIC_URL, "enabled": False},
        {"url": PUBLIC_URL, "secret": "whsec_x"},
    ],
)
def test_bad_bodies_are_422(api, body):
    _errors(api.post("/webhooks", json=body))


def test_a_url_of_2048_characters_is_accepted(api):
    url = PUBLIC_URL + "/" + "a" * (2048 - len(PUBLIC_URL) - 1)
    assert make_webhook(api, url=url).get_json()["url"] == url


def test_http_is_accepted_only_when_allowed(api, webhook_settings):
    webhook_settings(WEBHOOK_ALLOW_HTTP=True)
    make_webhook(api, url="http://93.184.215.14/x")


def test_at_most_ten_webhooks_per_user(api, other_api):
    for _ in range(10):
        make_webhook(api)
    response = make_webhook(api, expect=422)
    assert "10" in response.get_json()["message"]
    make_webhook(other_api)  # the limit is per user


def test_list_is_newest_first_and_only_mine(api, other_api):
    first = make_webhook(api).get_json()["id"]
    second = make_webhook(api).get_json()["id"]
    make_webhook(other_api)
    assert [w["id"] for w in api.get("/webhooks").get_json()] == [second, first]


@pytest.mark.parametrize(
    ("method", "suffix", "expect_json"),
    [
        ("GET", "", False),
        ("PATCH", "", True),
        ("DELETE", "", False),
        ("POST", "/rotate-secret", False),
        ("POST", "/test", False),
        ("GET", "/deliveries", False),
    ],
)
def test_another_users_webhook_is_404_like_a_missing_one(
    api, other_api, method, suffix, expect_json
):
    theirs = make_webhook(other_api).get_json()["id"]
    kwargs = {"json": {"description": "mine now"}} if expect_json else {}
    for webhook_id in (theirs, 999_999, "abc", -1, "1" * 26):
        response = api.request(method, f"/webhooks/{webhook_id}{suffix}", **kwargs)
        assert response.status_code == 404, (webhook_id, response.get_json())
        assert response.get_json()["message"]
    assert other_api.get(f"/webhooks/{theirs}").get_json()["description"] is None


def test_patch_changes_only_what_it_names(api):
    body = make_webhook(api, description="before").get_json()
    patched = api.patch(
        f"/webhooks/{body['id']}", 200, json={"events": ["notification.sent"]}
    ).get_json()
    assert patched["events"] == ["notification.sent"]
    assert patched["description"] == "before"
    assert patched["updated_at"] >= body["updated_at"]
    patched = api.patch(
        f"/webhooks/{body['id']}", 200, json={"description": None, "enabled": False}
    ).get_json()
    assert patched["description"] is None and patched["enabled"] is False


def test_patch_validates_like_create(api):
    webhook_id = make_webhook(api).get_json()["id"]
    errors = _errors(
        api.patch(
            f"/webhooks/{webhook_id}",
            json={"url": "https://127.0.0.1/x", "events": [], "enabled": "maybe"},
        )
    )
    assert set(errors) == {"url", "events", "enabled"}
    _errors(api.patch(f"/webhooks/{webhook_id}", json={"secret": "x"}))


def test_delete_removes_the_webhook_and_its_log(api):
    webhook_id = make_webhook(api).get_json()["id"]
    api.post(f"/webhooks/{webhook_id}/test", 202)
    api.delete(f"/webhooks/{webhook_id}", 204)
    api.get(f"/webhooks/{webhook_id}", 404)
    assert db.session.query(WebhookDelivery).count() == 0


def test_rotate_secret_answers_a_new_secret(api):
    body = make_webhook(api).get_json()
    rotated = api.post(f"/webhooks/{body['id']}/rotate-secret", 200).get_json()
    assert set(rotated) == FIELDS | {"secret"}
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != body["secret"]


def test_test_event_is_queued_whatever_the_events(api):
    webhook_id = make_webhook(api, events=["notification.sent"]).get_json()["id"]
    response = api.post(f"/webhooks/{webhook_id}/test", 202)
    delivery = response.get_json()
    assert delivery["event_type"] == "webhook.test"
    assert delivery["status"] == "pending" and delivery["attempts"] == 0
    assert delivery["notification_id"] is None
    assert delivery["event_id"].startswith("msg_")
    log = api.get(f"/webhooks/{webhook_id}/deliveries").get_json()
    assert [d["id"] for d in log] == [delivery["id"]]
    assert set(log[0]) == {
        "id",
        "event_id",
        "event_type",
        "notification_id",
        "status",
        "attempts",
        "http_status",
        "error",
        "created_at",
        "next_attempt_at",
        "delivered_at",
        "duration_ms",
    }


def test_the_log_pages_and_filters(api):
    webhook_id = make_webhook(api).get_json()["id"]
    ids = [api.post(f"/webhooks/{webhook_id}/test", 202).get_json()["id"] for _ in range(3)]
    response = api.get(f"/webhooks/{webhook_id}/deliveries?page_size=2")
    assert [d["id"] for d in response.get_json()] == ids[::-1][:2]
    pagination = json.loads(response.headers["X-Pagination"])
    assert pagination["total"] == 3 and pagination["next_page"] == 2
    page2 = api.get(f"/webhooks/{webhook_id}/deliveries?page=2&page_size=2").get_json()
    assert [d["id"] for d in page2] == [ids[0]]
    assert api.get(f"/webhooks/{webhook_id}/deliveries?page=9").get_json() == []
    assert len(api.get(f"/webhooks/{webhook_id}/deliveries?status=pending").get_json()) == 3
    assert api.get(f"/webhooks/{webhook_id}/deliveries?status=delivered").get_json() == []
    for bad in ("status=sent", "page_size=101", "page=0"):
        api.get(f"/webhooks/{webhook_id}/deliveries?{bad}", 422)


def test_disabling_fails_pending_deliveries(api):
    webhook_id = make_webhook(api).get_json()["id"]
    api.post(f"/webhooks/{webhook_id}/test", 202)
    api.patch(f"/webhooks/{webhook_id}", 200, json={"enabled": False})
    (delivery,) = api.get(f"/webhooks/{webhook_id}/deliveries").get_json()
    assert delivery["status"] == "failed"
    assert "disabled" in delivery["error"]


def test_every_route_is_documented(app, client):
    paths = client.get("/openapi.json").get_json()["paths"]
    expected = {
        "/webhooks": {"get", "post"},
        "/webhooks/{webhook_id}": {"get", "patch", "delete"},
        "/webhooks/{webhook_id}/rotate-secret": {"post"},
        "/webhooks/{webhook_id}/test": {"post"},
        "/webhooks/{webhook_id}/deliveries": {"get"},
    }
    for path, methods in expected.items():
        documented = {m for m in paths[path] if m != "parameters"}
        assert documented == methods, path
        for method in methods:
            assert paths[path][method].get("summary"), (path, method)
