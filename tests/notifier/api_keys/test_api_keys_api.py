"""The /api-keys routes, row by row of the documented behaviour."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from notifier.api_keys.credentials import new_key
from notifier.api_keys.models import ApiKey
from notifier.extensions import db

FIELDS = {"id", "name", "prefix", "mode", "scopes", "created_at", "expires_at", "last_used_at"}
ALL_SCOPES = ["notifications:send", "notifications:read", "notifications:write"]
KEY = re.compile(r"ntf_(live|test)_[A-Za-z0-9]{40,}")


def test_create_answers_201_with_the_key_once_and_a_location(api):
    response = api.post("/api-keys", 201, json={"name": "  Billing server  "})
    body = response.get_json()
    assert set(body) == FIELDS | {"key"}
    assert response.headers["Location"] == f"/api-keys/{body['id']}"
    assert KEY.fullmatch(body["key"]) and body["key"].startswith("ntf_live_")
    assert body["prefix"] == body["key"][:16]
    assert body["name"] == "Billing server"
    assert body["mode"] == "live"
    assert body["scopes"] == ALL_SCOPES
    assert body["expires_at"] is None and body["last_used_at"] is None
    assert body["created_at"].endswith("+00:00")

    shown = api.get(response.headers["Location"])
    assert shown.get_json() == {k: v for k, v in body.items() if k != "key"}
    listed = api.get("/api-keys").get_data(as_text=True)
    assert body["key"] not in listed and body["key"][16:] not in listed


def test_only_the_keys_sha256_is_stored(api):
    key = api.post("/api-keys", 201, json={"name": "S"}).get_json()["key"]
    db.session.remove()
    stored = db.session.scalars(select(ApiKey)).one()
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    row = [str(getattr(stored, c.key)) for c in ApiKey.__table__.c]
    assert all(key not in value and key[9:] not in value for value in row)


def test_every_key_is_new_and_long_enough():
    keys = {new_key("live") for _ in range(200)} | {new_key("test") for _ in range(200)}
    assert len(keys) == 400
    for key in keys:
        assert KEY.fullmatch(key)
        # At least 230 bits: 62 symbols per character.
        assert (len(key) - len("ntf_live_")) * 5.95 >= 230


def test_a_test_key_with_scopes_and_expiry(api):
    expires = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    body = api.post(
        "/api-keys",
        201,
        json={
            "name": "CI",
            "mode": "test",
            "scopes": ["notifications:read", "notifications:send", "notifications:read"],
            "expires_at": expires.astimezone(timezone(timedelta(hours=2))).isoformat(),
        },
    ).get_json()
    assert body["key"].startswith("ntf_test_") and body["prefix"].startswith("ntf_test_")
    assert body["mode"] == "test"
    assert body["scopes"] == ["notifications:send", "notifications:read"]
    assert body["expires_at"] == expires.isoformat()


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"name"}),
        ({"name": ""}, {"name"}),
        ({"name": "   "}, {"name"}),
        ({"name": "x" * 101}, {"name"}),
        ({"name": 5}, {"name"}),
        ({"name": "a\x00b"}, {"name"}),
        ({"name": "S", "scopes": []}, {"scopes"}),
        ({"name": "S", "scopes": ["notifications:admin"]}, {"scopes"}),
        ({"name": "S", "scopes": "notifications:read"}, {"scopes"}),
        ({"name": "S", "mode": "prod"}, {"mode"}),
        ({"name": "S", "expires_at": "2020-01-01T00:00:00+00:00"}, {"expires_at"}),
        ({"name": "S", "expires_at": "2999-01-01T00:00:00"}, {"expires_at"}),
        ({"name": "S", "expires_at": "soon"}, {"expires_at"}),
        ({"name": "S", "key": "ntf_live_" + "a" * 43}, {"key"}),
        ({"name": "", "scopes": ["x"], "mode": "x"}, {"name", "scopes", "mode"}),
    ],
)
def test_invalid_bodies_are_422_naming_every_field(api, body, fields):
    response = api.post("/api-keys", 422, json=body)
    error = response.get_json()
    assert set(error["errors"]["json"]) == fields
    assert error["code"] == 422 and error["message"]


def test_a_name_of_100_characters_is_accepted(api):
    assert api.post("/api-keys", 201, json={"name": "é" * 100}).get_json()["name"] == "é" * 100


def test_at_most_20_keys_per_user(api, other_api):
    for number in range(20):
        api.post("/api-keys", 201, json={"name": f"Key {number}"})
    over = api.post("/api-keys", 422, json={"name": "One too many"}).get_json()
    assert "20" in over["message"]
    other_api.post("/api-keys", 201, json={"name": "Another user's first"})
    first = api.get("/api-keys").get_json()[-1]
    api.delete(f"/api-keys/{first['id']}", 204)
    api.post("/api-keys", 201, json={"name": "After a delete"})


def test_the_list_is_newest_first_and_holds_no_secret(api):
    keys = [api.post("/api-keys", 201, json={"name": f"K{n}"}).get_json() for n in range(3)]
    listed = api.get("/api-keys").get_json()
    assert [item["id"] for item in listed] == [key["id"] for key in reversed(keys)]
    assert all(set(item) == FIELDS for item in listed)
    text = api.get("/api-keys").get_data(as_text=True)
    assert not any(key["key"] in text for key in keys)


def test_another_users_key_is_not_found(api, other_api):
    mine = api.post("/api-keys", 201, json={"name": "Mine"}).get_json()
    assert other_api.get("/api-keys").get_json() == []
    for method in ("GET", "DELETE"):
        error = other_api.request(method, f"/api-keys/{mine['id']}", 404).get_json()
        assert error["message"] == "API key not found."
    api.get(f"/api-keys/{mine['id']}", 200)


@pytest.mark.parametrize("key_id", ["999999", "abc", "-1", "0", "9" * 26])
def test_unknown_and_malformed_ids_are_404(api, key_id):
    for method in ("GET", "DELETE"):
        assert api.request(method, f"/api-keys/{key_id}", 404).get_json()["code"] == 404


def test_delete_answers_204_then_404(api):
    key = api.post("/api-keys", 201, json={"name": "Gone"}).get_json()
    assert api.delete(f"/api-keys/{key['id']}", 204).get_data() == b""
    api.get(f"/api-keys/{key['id']}", 404)
    api.delete(f"/api-keys/{key['id']}", 404)


def test_the_routes_need_a_token(client):
    for method, path in [("GET", "/api-keys"), ("POST", "/api-keys"), ("GET", "/api-keys/1")]:
        response = client.open(path, method=method, json={"name": "x"})
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_key_cannot_manage_keys(api, keyed):
    mine = api.post("/api-keys", 201, json={"name": "Other"}).get_json()
    for method, path in [
        ("GET", "/api-keys"),
        ("POST", "/api-keys"),
        ("GET", f"/api-keys/{mine['id']}"),
        ("DELETE", f"/api-keys/{mine['id']}"),
    ]:
        error = keyed.request(method, path, 403, json={"name": "From a key"}).get_json()
        assert error["code"] == 403 and error["status"] == "Forbidden"
        assert "access token" in error["message"]
    assert len(api.get("/api-keys").get_json()) == 2
