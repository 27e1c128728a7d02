"""Hostile or broken credentials: always 401 in the error shape, never a 500, never echoed."""

from __future__ import annotations

import pytest

from tests.helpers import ApiClient

LONG = "a" * 8192
RANDOM = "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v"


def _headers_for(key: str, access_token: str) -> dict[str, list[str]]:
    """Authorization values that must all be 401, built around a real key and token."""
    return {
        "malformed": ["Bearer ntf_live_", "Bearer ntf_", "Bearer ntf_live_abc$%^", "ntf " + key],
        "truncated": [f"Bearer {key[:-1]}", f"Bearer {key[:30]}", f"Bearer {key[:9]}"],
        "extended": [f"Bearer {key}x", f"Bearer {key}{key}"],
        "other mode": [f"Bearer {key.replace('ntf_live_', 'ntf_test_')}"],
        "unknown": [f"Bearer ntf_live_{RANDOM}", f"Bearer ntf_test_{RANDOM}"],
        "over-long": [f"Bearer ntf_live_{LONG}", f"Bearer {LONG}", f"Bearer {key * 120}"],
        "non-ASCII": [f"Bearer ntf_live_{RANDOM[:-1]}é", "Bearer ntf_live_ÄÖÜ" + RANDOM],
        "JWT as a key": [f"Bearer ntf_live_{access_token}", f"Bearer ntf_{access_token}"],
        "key as a JWT": [f"Bearer {key[9:]}", f"Bearer {key[4:]}", f"Bearer eyJ{key[9:]}"],
        "two keys": [f"Bearer {key} {key}", f"Bearer {key}, Bearer {key}"],
    }


@pytest.mark.parametrize(
    "kind",
    [
        "malformed",
        "truncated",
        "extended",
        "other mode",
        "unknown",
        "over-long",
        "non-ASCII",
        "JWT as a key",
        "key as a JWT",
        "two keys",
    ],
)
def test_bad_authorization_values_are_401(app, api, keyed, kind):
    key = keyed.access_token
    for value in _headers_for(key, api.access_token)[kind]:
        for method, path in [("GET", "/notifications"), ("POST", "/notifications")]:
            response = app.test_client().open(
                path,
                method=method,
                headers={"Authorization": value.encode("utf-8").decode("latin-1")},
                json={"title": "T", "content": "C", "channel": "email", "target": "a@b.co"},
            )
            assert response.status_code == 401, (kind, value[:40], response.get_json())
            assert response.headers["WWW-Authenticate"] == "Bearer"
            body = response.get_json()
            assert set(body) == {"code", "status", "message"} and body["message"]
            text = response.get_data(as_text=True)
            assert key not in text and key[9:] not in text
    keyed.get("/notifications", 200)


def test_a_refresh_token_is_not_a_key_and_a_key_is_not_a_refresh_token(api, keyed):
    refresh = ApiClient(api.client, api.refresh_token, "")
    refresh.get("/notifications", 401)
    assert keyed.post("/auth/refresh", 403).get_json()["code"] == 403


def test_an_unknown_key_answers_the_same_as_a_deleted_one(api, make_key):
    keyed, key = make_key()
    api.delete(f"/api-keys/{key['id']}", 204)
    unknown = ApiClient(api.client, f"ntf_live_{RANDOM}", "")
    deleted = keyed.get("/notifications", 401).get_json()
    assert deleted == unknown.get("/notifications", 401).get_json()
