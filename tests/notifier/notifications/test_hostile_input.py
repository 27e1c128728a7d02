"""Hostile and odd input never causes a 500 or a half-written row."""

import pytest

from notifier.extensions import db
from notifier.notifications.models import Notification

ODD_STRINGS = [
    "'; DROP TABLE notifications; --",
    '" OR 1=1 --',
    "Robert'); DELETE FROM users;--",
    "\u202eevil\u202c",
    "\U0001f600 emoji \U0001f4a9",
    "e\u0301\u0301\u0301 combining",
    "\ufeffbom",
    "<script>alert(1)</script>",
    "%s %n {0} ${x}",
]


@pytest.mark.parametrize("text", ODD_STRINGS)
def test_odd_strings_are_stored_verbatim(api, text):
    body = api.create(title=text, content=text).get_json()
    assert body["title"] == text.strip()
    assert body["content"] == text
    assert api.get(f"/notifications/{body['id']}").get_json()["content"] == text


@pytest.mark.parametrize(
    "fields",
    [
        {"title": "nul\u0000byte"},
        {"content": "nul\u0000byte"},
        {"target": "a\u0000@example.com"},
        {"title": 10**400},
        {"content": 1e308},
        {"title": {"$gt": ""}},
        {"channel": ["email"]},
        {"scheduled_at": "9999-99-99T99:99:99+00:00"},
        {"scheduled_at": "2026-11-24T10:15:00+99:00"},
    ],
)
def test_hostile_values_are_422(api, fields):
    response = api.create(expect=422, **fields)
    assert response.get_json()["code"] == 422
    assert db.session.query(Notification).count() == 0


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"null",
        b"[]",
        b"42",
        b'"string"',
        b"{" * 10_000,
        b'{"title": "x", "title": "y"}',
        b'{"title": NaN}',
    ],
)
def test_malformed_or_wrong_typed_bodies_are_400_or_422(api, raw):
    response = api.post("/notifications", data=raw, content_type="application/json")
    assert response.status_code in (400, 422)
    assert response.get_json()["message"]
    assert db.session.query(Notification).count() == 0


def test_oversized_body_is_413(api):
    response = api.create(expect=413, content="x" * 70_000)
    assert response.get_json()["code"] == 413


def test_non_json_content_type_is_not_a_500(api):
    response = api.post(
        "/notifications", data="title=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code in (400, 415, 422)


@pytest.mark.parametrize(
    "query", ["status=%00", "page=1e9", "page_size=%F0%9F%98%80", "page=" + "9" * 500]
)
def test_hostile_query_strings_are_not_500(api, query):
    response = api.get(f"/notifications?{query}", expect=None)
    assert response.status_code in (200, 422)
