"""The principal module honours flask-jwt-extended's settings and never lets a
remembered token outlive its expiry."""

import time
from datetime import timedelta

import jwt as pyjwt
from flask_jwt_extended import create_access_token

from tests.factories import PASSWORD
from tests.helpers import ApiClient


def _login(app, user) -> ApiClient:
    """A fresh login: its tokens are made with the app's current settings."""
    return ApiClient.login(app.test_client(), user.email, PASSWORD)


def test_the_decode_audience_is_enforced(app, user, monkeypatch):
    monkeypatch.setitem(app.config, "JWT_ENCODE_AUDIENCE", "notifier-api")
    monkeypatch.setitem(app.config, "JWT_DECODE_AUDIENCE", "notifier-api")
    api = _login(app, user)
    assert pyjwt.decode(api.access_token, options={"verify_signature": False})["aud"]
    api.get("/users/me", 200)
    api.create()

    sid = pyjwt.decode(api.access_token, options={"verify_signature": False})["sid"]
    with app.test_request_context():
        monkeypatch.setitem(app.config, "JWT_ENCODE_AUDIENCE", None)
        without_audience = create_access_token(str(user.id), additional_claims={"sid": sid})
        monkeypatch.setitem(app.config, "JWT_ENCODE_AUDIENCE", "another-api")
        other_audience = create_access_token(str(user.id), additional_claims={"sid": sid})
    for token in (without_audience, other_audience):
        response = api.client.get("/notifications", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert response.get_json()["message"] == "The token is invalid."
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_the_decode_issuer_is_enforced(app, user, monkeypatch):
    monkeypatch.setitem(app.config, "JWT_ENCODE_ISSUER", "someone-else")
    foreign = _login(app, user)
    monkeypatch.setitem(app.config, "JWT_ENCODE_ISSUER", "notifier")
    monkeypatch.setitem(app.config, "JWT_DECODE_ISSUER", "notifier")
    ours = _login(app, user)
    ours.get("/notifications", 200)
    assert foreign.get("/notifications", 401).get_json()["message"] == "The token is invalid."


def test_another_identity_claim_names_the_user(app, user, monkeypatch):
    monkeypatch.setitem(app.config, "JWT_IDENTITY_CLAIM", "uid")
    api = _login(app, user)
    claims = pyjwt.decode(api.access_token, options={"verify_signature": False})
    assert claims["uid"] == str(user.id) and "sub" not in claims
    assert api.get("/users/me").get_json()["id"] == user.id
    created = api.create().get_json()
    assert created["user_id"] == user.id
    refreshed = api.client.post(
        "/auth/refresh", headers={"Authorization": f"Bearer {api.refresh_token}"}
    )
    assert refreshed.status_code == 200


def test_the_header_name_and_type_come_from_the_settings(app, user, monkeypatch):
    api = _login(app, user)
    monkeypatch.setitem(app.config, "JWT_HEADER_NAME", "X-Api-Token")
    monkeypatch.setitem(app.config, "JWT_HEADER_TYPE", "")
    found = api.client.get("/users/me", headers={"X-Api-Token": api.access_token})
    assert found.status_code == 200
    assert api.get("/users/me", 401).headers["WWW-Authenticate"] == "Bearer"
    spaced = api.client.get("/users/me", headers={"X-Api-Token": f"Bearer {api.access_token}"})
    assert spaced.status_code == 401


def test_a_token_used_before_is_still_refused_once_it_expires(app, api, user):
    """Verified tokens are remembered per process; expiry is checked on every use."""
    claims = pyjwt.decode(api.access_token, options={"verify_signature": False})
    with app.test_request_context():
        short = create_access_token(
            str(user.id),
            expires_delta=timedelta(seconds=1),
            additional_claims={"sid": claims["sid"]},
        )
    headers = {"Authorization": f"Bearer {short}"}
    assert api.client.get("/users/me", headers=headers).status_code == 200
    expires = pyjwt.decode(short, options={"verify_signature": False})["exp"]
    while time.time() < expires + 0.05:
        time.sleep(0.05)
    response = api.client.get("/notifications", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["message"].startswith("The access token has expired: get a new")


def test_a_refresh_token_remembered_as_such_is_still_refused_as_access(api):
    """The memo keeps the token's type: a refresh token works only on /auth/refresh."""
    refresh = {"Authorization": f"Bearer {api.refresh_token}"}
    assert api.client.post("/auth/refresh", headers=refresh).status_code == 200
    assert api.client.get("/users/me", headers=refresh).status_code == 401
    assert api.client.post("/auth/refresh", headers=refresh).status_code == 200
