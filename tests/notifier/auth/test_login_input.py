"""What a login does with hostile or unusual input, and what its rate limit keeps."""

import re

import pytest

from notifier.extensions import db
from notifier.ratelimit import RateLimitCounter
from tests.factories import PASSWORD, UserFactory


def _login(client, email, password=PASSWORD):
    return client.post("/auth/login", json={"email": email, "password": password})


def _counter_keys() -> list[str]:
    db.session.remove()
    return list(db.session.scalars(db.select(RateLimitCounter.key)))


@pytest.mark.parametrize(
    "email",
    [
        "user\x00@example.com",
        "\x00",
        "user\ud800@example.com",
        "\udfff",
        "a" * 10_240 + "@example.com",
    ],
    ids=["nul", "only-nul", "lone-surrogate", "only-surrogate", "10-kb"],
)
def test_an_email_no_database_can_hold_is_422_and_counts_nothing(client, email):
    response = _login(client, email)
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == 422
    assert list(body["errors"]["json"]) == ["email"]
    assert _counter_keys() == []


def test_a_password_no_hash_can_take_is_422(client, user):
    response = _login(client, user.email, "password\ud800")
    assert response.status_code == 422
    assert list(response.get_json()["errors"]["json"]) == ["password"]


@pytest.mark.parametrize("email", ["not-an-email", "nobody@example.com", "Ünïcode@nowhere"])
def test_a_well_formed_unknown_email_is_401(client, user, email):
    assert _login(client, email).status_code == 401


def test_counter_keys_are_fixed_length_hashes_that_hold_no_email(client, user):
    long_email = f"{'x' * 60}@{'d' * 60}.{'e' * 60}.example.com"
    _login(client, long_email)
    _login(client, user.email, "wrong password")
    keys = _counter_keys()
    # Per (address, email) pair, per email (two of each) and per address (one).
    assert len(keys) == 5
    shape = r"LIMITER/login(-email|-address)?/[0-9a-f]{64}/\d+/1/(minute|hour)"
    assert all(re.fullmatch(shape, key) for key in keys), keys
    assert not any("example" in key or "@" in key for key in keys)


def test_every_spelling_of_an_address_shares_one_counter(client):
    UserFactory(email="user@bücher.de")
    spellings = [
        "user@bücher.de",
        "user@XN--BCHER-KVA.DE",
        " USER@BÜCHER.DE ",
        "user@bu\u0308cher.de",
    ]
    for attempt in range(10):
        assert _login(client, spellings[attempt % 4], "wrong password").status_code == 401
    for spelling in spellings:
        assert _login(client, spelling).status_code == 429


def test_a_body_that_fails_validation_tries_no_password_and_is_not_counted(client, user):
    for _ in range(12):
        body = {"email": user.email, "password": PASSWORD, "admin": True}
        assert client.post("/auth/login", json=body).status_code == 422
    assert _login(client, user.email).status_code == 200
