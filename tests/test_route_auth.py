"""Every route needs a token, except a short public allowlist and the console.

The web console (`/console/...`) is a browser's door: it takes a signed session
cookie, never a token, and answers every URL without a session with a redirect
to its sign-in page (302), the sign-in page and its static files excepted.
"""

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


CONSOLE = "/console"
CONSOLE_PUBLIC = {
    ("GET", "/console/login"),
    ("POST", "/console/login"),
    ("GET", "/console/static/<path:filename>"),
}


def is_console(rule) -> bool:
    return rule.rule == CONSOLE or rule.rule.startswith(CONSOLE + "/")


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
        if (method, rule.rule) in PUBLIC or is_console(rule):
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


def test_every_console_route_redirects_to_sign_in_without_a_session(app, client):
    checked = 0
    for method, rule in _routes(app):
        if not is_console(rule) or (method, rule.rule) in CONSOLE_PUBLIC:
            continue
        url = re.sub(r"<id:\w+>", "1", rule.rule)
        response = client.open(url, method=method, data={})
        assert response.status_code == 302, (method, url, response.status_code)
        assert response.headers["Location"].startswith("/console/login"), (method, url)
        checked += 1
    assert checked >= 10


def test_the_console_allowlist_only_names_routes_that_exist(app):
    existing = {(method, rule.rule) for method, rule in _routes(app)}
    assert existing >= CONSOLE_PUBLIC


def test_the_openapi_document_marks_exactly_the_public_routes_as_public(app, client):
    paths = client.get("/openapi.json").get_json()["paths"]
    for method, rule in _routes(app):
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        operation = paths.get(path, {}).get(method.lower())
        if operation is None:  # not in the document (the docs page, the console, statics)
            continue
        public = (method, rule.rule) in PUBLIC
        assert (operation.get("security") == []) == public, (method, path)
        if not public:
            assert "401" in operation["responses"], (method, path)
