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
        ({"email": "a" * 10_240 + "@example.com"}, "email"),
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


def test_one_422_names_every_invalid_field_the_email_included(client):
    response = client.post("/users", json={"name": "", "email": "not-an-email", "password": "x"})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]["json"]) == {"name", "email", "password"}
    assert db.session.query(User).count() == 0


@pytest.mark.parametrize(
    ("field", "bad"),
    # A password is only hashed: a NUL in it is a character like any other.
    [
        ("name", "\ud800"),
        ("name", "\x00"),
        ("email", "\ud800"),
        ("email", "\x00"),
        ("password", "\ud800"),
    ],
)
def test_text_no_database_or_hash_can_take_is_422_naming_the_field(client, field, bad):
    value = {"name": "Ada", "email": "ada@example.com", "password": PASSWORD}[field]
    response = _register(client, **{field: value[:3] + bad + value[3:]})
    assert response.status_code == 422
    assert field in response.get_json()["errors"]["json"]
    assert db.session.query(User).count() == 0


@pytest.mark.parametrize(
    ("registered", "login"),
    [
        ("user@XN--BCHER-KVA.DE", "user@XN--BCHER-KVA.DE"),
        ("user@XN--BCHER-KVA.DE", "user@bücher.de"),
        ("user@bücher.de", "user@xn--bcher-kva.de"),
        ("user@bücher.de", "  USER@BÜCHER.DE "),
        ("  User@Bücher.DE", "user@bu\u0308cher.de"),
    ],
)
def test_an_idn_address_logs_in_in_any_spelling(client, registered, login):
    response = _register(client, email=registered)
    assert response.status_code == 201
    assert response.get_json()["email"] == "user@bücher.de"
    answer = client.post("/auth/login", json={"email": login, "password": PASSWORD})
    assert answer.status_code == 200


def test_an_idn_address_is_taken_in_its_other_form(client):
    assert _register(client, email="user@bücher.de").status_code == 201
    assert _register(client, email="User@XN--BCHER-KVA.DE").status_code == 409
    assert db.session.query(User).count() == 1
