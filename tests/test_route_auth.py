"""Every route needs a token, except a short public allowlist."""

import re

import pytest

PUBLIC = {
    ("POST", "/users"),
    ("POST", "/auth/login"),
    ("GET", "/"),
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/assets/<path:filename>"),
    ("GET", "/static/<path:filename>"),
    # Twilio's status callbacks: Twilio has no token of ours; each request is
    # checked by its X-Twilio-Signature instead (403 when missing or wrong).
    ("POST", "/receipts/twilio"),
    # One-click unsubscribe links in emails: whoever holds the signed link may use
    # it (the token names the user and the address, and cannot be forged).
    ("GET", "/unsubscribe/<string:token>"),
    ("POST", "/unsubscribe/<string:token>"),
}


def _routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule


def test_allowlist_only_names_routes_that_exist(app):
    existing = {(method, rule.rule) for method, rule in _routes(app)}
    assert PUBLIC - existing <= {("GET", "/static/<path:filename>")}


def test_every_other_route_answers_401_without_a_token(app, client):
    checked = 0
    for method, rule in _routes(app):
        if (method, rule.rule) in PUBLIC:
            continue
        url = re.sub(r"<id:\w+>", "1", rule.rule)
        response = client.open(url, method=method, json={})
        assert response.status_code == 401, (method, url, response.get_json())
        assert response.headers["WWW-Authenticate"] == "Bearer"
        checked += 1
    assert checked >= 10


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/health"), ("GET", "/ready"), ("GET", "/openapi.json"), ("GET", "/docs")],
)
def test_public_routes_answer_without_a_token(client, method, path):
    assert client.open(path, method=method).status_code == 200
