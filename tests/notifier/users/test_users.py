"""POST /users and GET /users/me."""

import pytest

from notifier.extensions import db
from notifier.users.models import User
from tests.factories import PASSWORD


def _register(client, **fields):
    body = {"name": "Ada Lovelace", "email": "ada@example.com", "password": PASSWORD, **fields}
    return client.post("/users", json=body)


def test_register_answers_201_with_location_and_no_password(client):
    response = _register(client, name="  Ada  ", email="  Ada@Example.COM ")
    assert response.status_code == 201
    assert response.headers["Location"] == "/users/me"
    body = response.get_json()
    assert set(body) == {"id", "name", "email", "created_at", "updated_at"}
    assert body["name"] == "Ada"
    assert body["email"] == "ada@example.com"
    assert body["created_at"].endswith("+00:00")
    assert PASSWORD not in response.get_data(as_text=True)


def test_password_is_stored_only_as_a_slow_salted_hash(client):
    _register(client)
    stored = db.session.execute(db.select(User.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_email_taken_in_any_case_is_409(client):
    assert _register(client).status_code == 201
    response = _register(client, email="ADA@example.com")
    assert response.status_code == 409
    assert response.get_json()["message"] == "A user with this email already exists."
    assert db.session.query(User).count() == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": 12}, "name"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@b"}, "email"),
        ({"email": None}, "email"),
        ({"password": "short"}, "password"),
        ({"password": "x" * 129}, "password"),
        ({"password": 12345678}, "password"),
        ({"admin": True}, "admin"),
    ],
)
def test_invalid_registration_is_422_naming_the_field(client, fields, field):
    response = _register(client, **fields)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]["json"]
    assert db.session.query(User).count() == 0


def test_names_of_100_characters_and_passwords_of_8_and_128_are_accepted(client):
    assert _register(client, name="n" * 100, password="p" * 8).status_code == 201
    assert _register(client, email="b@example.com", password="p" * 128).status_code == 201


def test_me_answers_the_tokens_user(api, user):
    body = api.get("/users/me").get_json()
    assert body["id"] == user.id
    assert body["email"] == user.email


def test_me_without_token_is_401(client):
    assert client.get("/users/me").status_code == 401
