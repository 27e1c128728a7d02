"""The three login limits, the client address they count, and the proxies in front.

Besides the (client address, email) pair, each email is limited across all
addresses and each address across all emails; an IPv6 client counts by its /64;
`X-Forwarded-For` names the client only when TRUSTED_PROXY_COUNT says a proxy set it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event

from config import TestConfig
from notifier import create_app
from notifier.extensions import db
from notifier.ratelimit import client
from tests.factories import PASSWORD, UserFactory

WRONG = "wrong password"


@contextlib.contextmanager
def _client_with(**settings) -> Iterator[FlaskClient]:
    """A second app on the test database, with some settings changed."""
    other = create_app(type("Config", (TestConfig,), settings))
    with other.app_context():
        try:
            yield other.test_client()
        finally:
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


def _login(client: FlaskClient, email: str, password: str = PASSWORD, address="192.0.2.1", **kw):
    return client.post(
        "/auth/login",
        json={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
        **kw,
    )


def _assert_limited(response, window_s: int) -> None:
    assert response.status_code == 429
    assert response.get_json() == {
        "code": 429,
        "status": "Too Many Requests",
        "message": response.get_json()["message"],
    }
    assert response.get_json()["message"]
    assert 1 <= int(response.headers["Retry-After"]) <= window_s


@pytest.mark.parametrize("storage", ["database://", "memory://"])
def test_an_email_is_limited_across_addresses(app, storage):
    """Five addresses, ten guesses each, at one account: the 51st is refused,
    the right password too, from an address that never tried."""
    user = UserFactory()
    with _client_with(RATELIMIT_STORAGE_URI=storage) as api:
        for attempt in range(50):
            address = f"198.51.100.{attempt // 10}"
            assert _login(api, user.email, WRONG, address).status_code == 401
        limited = _login(api, user.email.upper(), address="203.0.113.9")
        _assert_limited(limited, 3600)
        assert int(limited.headers["Retry-After"]) > 60  # the hour's window, not the minute's
        # That address may still log in to another account.
        assert _login(api, UserFactory().email, address="203.0.113.9").status_code == 200


def test_an_address_is_limited_across_emails(client, user):
    """A hundred unknown emails from one address; the 101st login is refused,
    even the right password of a real account; other addresses are not."""
    for attempt in range(100):
        assert _login(client, f"nobody{attempt}@example.com", WRONG).status_code == 401
    _assert_limited(_login(client, user.email), 3600)
    assert _login(client, user.email, address="192.0.2.2").status_code == 200


def test_an_ipv6_client_counts_by_its_64(client, user):
    """Ten guesses from ten addresses of one /64 use up its pair limit."""
    for host in range(1, 11):
        assert _login(client, user.email, WRONG, f"2001:db8:0:7::{host:x}").status_code == 401
    _assert_limited(_login(client, user.email, address="2001:db8:0:7:ffff::1"), 60)
    assert _login(client, user.email, address="2001:db8:0:8::1").status_code == 200


@pytest.mark.parametrize(
    ("address", "counted_as"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:0:7:1:2:3:4", "2001:db8:0:7::/64"),
        ("2001:DB8:0:7::", "2001:db8:0:7::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("fe80::1%eth0", "fe80::/64"),
        ("not an address", "not an address"),
        (None, ""),
    ],
)
def test_the_client_a_limit_counts(address, counted_as):
    assert client(address) == counted_as


def test_a_forged_forwarded_for_changes_nothing_without_a_trusted_proxy(client, user):
    for attempt in range(10):
        forged = {"X-Forwarded-For": f"203.0.113.{attempt}"}
        assert _login(client, user.email, WRONG, headers=forged).status_code == 401
    limited = _login(client, user.email, headers={"X-Forwarded-For": "203.0.113.99"})
    _assert_limited(limited, 60)


def test_behind_one_proxy_the_client_is_the_last_forwarded_address(app):
    """The attacker's failures lock out the attacker, not the user behind the same
    proxy; what the attacker writes at the left of the header is ignored."""
    user = UserFactory()
    proxy = "10.0.0.5"
    with _client_with(TRUSTED_PROXY_COUNT=1) as api:
        for attempt in range(10):
            attacker = {"X-Forwarded-For": f"6.6.6.{attempt}, 203.0.113.66"}
            assert _login(api, user.email, WRONG, proxy, headers=attacker).status_code == 401
        attacker = {"X-Forwarded-For": "203.0.113.66"}
        _assert_limited(_login(api, user.email, address=proxy, headers=attacker), 60)
        real_user = {"X-Forwarded-For": "198.51.100.20"}
        assert _login(api, user.email, address=proxy, headers=real_user).status_code == 200


@pytest.mark.parametrize(
    "settings",
    [
        {"TRUSTED_PROXY_COUNT": -1},
        {"RATELIMIT_LOGIN_PER_EMAIL": "fifty an hour"},
        {"RATELIMIT_LOGIN_PER_ADDRESS": ""},
    ],
)
def test_a_bad_setting_stops_startup_naming_it(settings):
    with pytest.raises(RuntimeError, match=next(iter(settings))):
        create_app(type("Config", (TestConfig,), settings))


def test_a_login_counts_its_three_limits_in_one_statement(app, client, user):
    """database://: the three limits cost the round trip one limit cost."""
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert _login(client, user.email).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    counters = [s for s in statements if "rate_limit_counters" in s]
    assert len(counters) == 1
    # The user's read and the session's insert are the only other statements.
    assert len(statements) == 3, statements


@pytest.mark.parametrize("known", [True, False])
def test_a_login_runs_exactly_one_argon2_verify(client, user, monkeypatch, known):
    """The bench's login line counts one hash on each side: a second would hide there."""
    from argon2 import PasswordHasher

    verifies = []
    original = PasswordHasher.verify

    def counted(self, hash, password):
        verifies.append(1)
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counted)
    email = user.email if known else "nobody@example.com"
    assert _login(client, email).status_code == (200 if known else 401)
    assert len(verifies) == 1
