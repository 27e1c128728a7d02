"""Login, refresh, logout and every way a token can be wrong."""

import base64
import json
from datetime import timedelta

import jwt as pyjwt
import pytest
from flask_jwt_extended import create_access_token, create_refresh_token

from notifier.extensions import db
from tests.factories import PASSWORD, UserFactory
from tests.helpers import ApiClient

EXPIRED_ACCESS = (
    "The access token has expired: get a new one from POST /auth/refresh with your refresh "
    "token (or log in again)."
)


def _login(client, email, password=PASSWORD):
    return client.post("/auth/login", json={"email": email, "password": password})


def test_login_answers_both_tokens(client, user):
    response = _login(client, user.email)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900


def test_login_accepts_any_case_and_padding(client, user):
    assert _login(client, f"  {user.email.upper()}  ").status_code == 200


def test_wrong_password_and_unknown_email_get_the_same_401(client, user):
    wrong = _login(client, user.email, "wrong password")
    unknown = _login(client, "nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert wrong.get_json()["message"] == "The email or password is incorrect."


def test_every_character_of_a_long_password_counts(client):
    long_password = "p" * 127 + "A"
    UserFactory(email="long@example.com", password_hash=_hash(long_password))
    assert _login(client, "long@example.com", long_password).status_code == 200
    assert _login(client, "long@example.com", "p" * 127 + "B").status_code == 401
    assert _login(client, "long@example.com", "p" * 72).status_code == 401


def _hash(password):
    from notifier.auth.passwords import hash_password

    return hash_password(password)


def test_subject_is_the_user_id_as_a_string(api, user):
    claims = pyjwt.decode(api.access_token, options={"verify_signature": False})
    assert claims["sub"] == str(user.id)
    assert claims["type"] == "access"


def test_refresh_gives_a_working_access_token_and_can_be_reused(api, user):
    for _ in range(2):
        response = api.client.post(
            "/auth/refresh", headers={"Authorization": f"Bearer {api.refresh_token}"}
        )
        assert response.status_code == 200
        body = response.get_json()
        assert set(body) == {"access_token", "token_type", "expires_in"}
        fresh = ApiClient(api.client, body["access_token"], api.refresh_token)
        assert fresh.get("/users/me").get_json()["id"] == user.id


def test_refresh_token_is_refused_where_access_is_expected_and_the_reverse(api):
    me = api.client.get("/users/me", headers={"Authorization": f"Bearer {api.refresh_token}"})
    refresh = api.client.post(
        "/auth/refresh", headers={"Authorization": f"Bearer {api.access_token}"}
    )
    assert me.status_code == refresh.status_code == 401
    assert me.get_json()["message"] == (
        "This is a refresh token: send it to POST /auth/refresh for a new access token, "
        "and call this route with the access token."
    )
    assert refresh.get_json()["message"] == (
        "POST /auth/refresh takes the refresh token from POST /auth/login, not an access token."
    )


def test_logout_revokes_the_access_and_refresh_token_of_that_login(app, api, user):
    other_login = ApiClient.login(app.test_client(), user.email, PASSWORD)
    api.post("/auth/logout", expect=204)
    assert api.get("/users/me", expect=None).status_code == 401
    refreshed = api.client.post(
        "/auth/refresh", headers={"Authorization": f"Bearer {api.refresh_token}"}
    )
    assert refreshed.status_code == 401
    assert refreshed.get_json()["message"] == "The token has been revoked."
    # Another login of the same user is untouched.
    other_login.get("/users/me", expect=200)


def test_logout_twice_is_401(api):
    api.post("/auth/logout", expect=204)
    api.post("/auth/logout", expect=401)


def test_expired_token_is_401(app, api, user):
    claims = pyjwt.decode(api.access_token, options={"verify_signature": False})
    with app.test_request_context():
        expired = create_access_token(
            str(user.id),
            expires_delta=timedelta(seconds=-5),
            additional_claims={"sid": claims["sid"]},
        )
    response = api.client.get("/users/me", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert response.get_json()["message"] == EXPIRED_ACCESS


def test_an_expired_refresh_token_says_to_log_in_again(app, api, user):
    claims = pyjwt.decode(api.refresh_token, options={"verify_signature": False})
    with app.test_request_context():
        expired = create_refresh_token(
            str(user.id),
            expires_delta=timedelta(seconds=-5),
            additional_claims={"sid": claims["sid"]},
        )
    response = api.client.post("/auth/refresh", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.get_json()["message"] == (
        "The refresh token has expired: log in again (POST /auth/login)."
    )


def test_token_of_a_deleted_user_is_401(api, user):
    db.session.delete(user)
    db.session.commit()
    assert api.get("/users/me", expect=None).status_code == 401


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _forgeries(token: str) -> list[str]:
    header, payload, signature = token.split(".")
    claims = pyjwt.decode(token, options={"verify_signature": False})
    return [
        f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        f"{header}.{_b64({**claims, 'sub': '999'})}.{signature}",
        pyjwt.encode(claims, "another-secret-that-is-long-enough-32b", algorithm="HS256"),
        pyjwt.encode({**claims, "sub": 1}, "x" * 40, algorithm="HS256"),
        "not-a-token",
        "a.b.c",
        "",
        "\u202e\u0000",
        token + "x",
    ]


@pytest.mark.parametrize("index", range(9))
def test_forged_and_malformed_tokens_are_401(api, index):
    forged = _forgeries(api.access_token)[index]
    response = api.client.get("/users/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.get_json()["code"] == 401


@pytest.mark.parametrize(
    "header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "bearer", "Token abc"]
)
def test_malformed_authorization_headers_are_401(client, header):
    response = client.get("/users/me", headers={"Authorization": header})
    assert response.status_code == 401


def test_login_is_rate_limited_per_address_and_email(client, user):
    for _ in range(10):
        assert _login(client, user.email, "wrong password").status_code == 401
    limited = _login(client, user.email)
    assert limited.status_code == 429
    # The window is a minute: the wait is what is left of it.
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # Any case or padding of the same email shares the counter.
    assert _login(client, f" {user.email.upper()}").status_code == 429
    # Another email from the same address is not limited.
    other = UserFactory()
    assert _login(client, other.email).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "a@example.com"},
        {"email": 1, "password": "x"},
        [],
        {"email": "a", "password": "b", "x": 1},
    ],
)
def test_invalid_login_bodies_are_422(client, body):
    assert client.post("/auth/login", json=body).status_code == 422


def test_login_upgrades_a_hash_made_with_older_parameters(app, client, user, monkeypatch):
    from argon2 import PasswordHasher

    from notifier.users.models import User

    old_hash = user.password_hash
    stronger = PasswordHasher(time_cost=2, memory_cost=128, parallelism=1)
    monkeypatch.setitem(app.extensions, "password_hasher", stronger)

    assert _login(client, user.email).status_code == 200
    db.session.expire_all()
    upgraded = db.session.get(User, user.id).password_hash
    assert upgraded != old_hash
    assert "m=128,t=2,p=1" in upgraded
    # The new hash works, and a wrong password still does not.
    assert _login(client, user.email).status_code == 200
    assert _login(client, user.email, "wrong password").status_code == 401
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == upgraded


def test_login_keeps_a_hash_made_with_the_current_parameters(client, user):
    assert _login(client, user.email).status_code == 200
    db.session.expire_all()
    from notifier.users.models import User

    assert db.session.get(User, user.id).password_hash == user.password_hash
