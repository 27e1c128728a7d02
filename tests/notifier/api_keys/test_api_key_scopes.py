"""Scopes on every notification route, and 403 for a key on every other route.

Walks `app.url_map`, so a route added later is checked without a line here:
a notification route must declare the scope its method needs, and every other
authenticated route must refuse keys.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask

from notifier.auth.principal import auth_required
from tests.test_route_auth import PUBLIC, is_console

SCOPE_OF_METHOD = {
    "GET": "notifications:read",
    "POST": "notifications:send",
    "PUT": "notifications:write",
    "PATCH": "notifications:write",
    "DELETE": "notifications:write",
}
OPERATOR_ROUTES = {("GET", "/metrics")}
# Template routes a key with `templates:read` may call; template writes refuse keys.
TEMPLATE_READS = {
    ("GET", "/templates"),
    ("GET", "/templates/<id:template_id>"),
    ("GET", "/templates/<id:template_id>/versions"),
    ("GET", "/templates/<id:template_id>/versions/<id:version>"),
    ("POST", "/templates/<id:template_id>/preview"),
}


# Routes whose scope is not the one of their method (cancel is a write), and the
# batches, which take the notification scopes.
ROUTE_SCOPES = {
    ("POST", "/notifications/<id:notification_id>/cancel"): "notifications:write",
    ("GET", "/batches"): "notifications:read",
    ("POST", "/batches"): "notifications:send",
    ("GET", "/batches/<id:batch_id>"): "notifications:read",
    ("POST", "/batches/<id:batch_id>/cancel"): "notifications:write",
}


# Receipts and suppressions act on notifications: a key reads or writes them with
# the notification scopes.
NOTIFICATION_DATA = {
    ("POST", "/receipts"): "notifications:write",
    ("GET", "/suppressions"): "notifications:read",
    ("POST", "/suppressions"): "notifications:write",
    ("DELETE", "/suppressions/<id:suppression_id>"): "notifications:write",
}


def expected_scope(method: str, rule: str) -> str | None:
    if (method, rule) in ROUTE_SCOPES:
        return ROUTE_SCOPES[method, rule]
    if rule.startswith("/notifications"):
        return SCOPE_OF_METHOD[method]
    if (method, rule) in NOTIFICATION_DATA:
        return NOTIFICATION_DATA[method, rule]
    if (method, rule) in TEMPLATE_READS:
        return "templates:read"
    return None


def _authenticated_routes(app):
    """(method, rule, auth_requirement) of every route that takes a user's credential."""
    for rule in app.url_map.iter_rules():
        if is_console(rule):  # the console takes a session cookie, never a key
            continue
        view = app.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if (method, rule.rule) in PUBLIC | OPERATOR_ROUTES:
                continue
            view_class = getattr(view, "view_class", None)
            handler = getattr(view_class, method.lower(), None) if view_class else view
            yield method, rule.rule, getattr(handler, "auth_requirement", None)


def _misdeclared(app) -> list[str]:
    found = []
    for method, rule, requirement in _authenticated_routes(app):
        scope = (requirement or {}).get("scope")
        expected = expected_scope(method, rule)
        if requirement is None or scope != expected:
            found.append(f"{method} {rule}: scope {scope!r}, expected {expected!r}")
    return found


def test_every_route_declares_the_scope_it_needs_or_refuses_keys(app):
    assert _misdeclared(app) == []
    routes = list(_authenticated_routes(app))
    assert sum(rule.startswith("/notifications") for _, rule, _ in routes) == 8
    assert len(routes) >= 20


def test_a_route_that_forgets_its_scope_is_found():
    probe = Flask("probe")
    unscoped = auth_required(checked_in_statement=True)(lambda: "")
    probe.add_url_rule("/notifications/x", "x", unscoped)
    probe.add_url_rule(
        "/users/x", "y", auth_required(scope="notifications:read")(lambda: ""), methods=["GET"]
    )
    assert _misdeclared(probe) == [
        "GET /notifications/x: scope None, expected 'notifications:read'",
        "GET /users/x: scope 'notifications:read', expected None",
    ]


def test_an_unknown_scope_cannot_be_declared():
    with pytest.raises(ValueError, match="unknown scope"):
        auth_required(scope="notifications:everything")


def _url(rule: str, notification_id: int) -> str:
    return re.sub(r"<id:\w+>", str(notification_id), rule)


BODY = {"title": "T", "content": "C", "channel": "email", "target": "a@example.com"}


def test_a_key_gets_403_on_every_route_that_is_not_a_notification_route(app, api, keyed):
    checked = 0
    for method, rule, _ in _authenticated_routes(app):
        if expected_scope(method, rule) is not None:
            continue
        response = keyed.request(method, _url(rule, 1), json={})
        assert response.status_code == 403, (method, rule, response.get_json())
        assert response.get_json()["message"].startswith("API keys work on the /notifications")
        checked += 1
    assert checked >= 18  # /users/me, /auth/*, /api-keys*, /webhooks*, template writes
    api.get("/users/me", 200)


@pytest.mark.parametrize("scope", sorted(set(SCOPE_OF_METHOD.values())))
def test_every_notification_route_needs_its_scope(app, api, make_key, scope):
    narrow, _ = make_key(scopes=[scope])
    notification_id = api.create().get_json()["id"]
    checked = 0
    for method, rule, _ in _authenticated_routes(app):
        if not rule.startswith("/notifications"):
            continue
        body = BODY if method in {"POST", "PUT"} else {"title": "New"}
        response = narrow.request(method, _url(rule, notification_id), json=body)
        needed = expected_scope(method, rule)
        if needed == scope:
            assert response.status_code in {200, 201, 204}, (method, rule, response.get_json())
        else:
            error = response.get_json()
            assert response.status_code == 403, (method, rule, error)
            assert error["status"] == "Forbidden"
            assert error["message"] == f"This API key does not have the {needed} scope."
        checked += 1
        if method in {"DELETE", "POST"} and needed == scope:
            notification_id = api.create().get_json()["id"]
    assert checked == 8


def test_a_deleted_key_out_of_scope_or_route_is_401_not_403(api, make_key):
    reader, key = make_key(scopes=["notifications:read"])
    reader.get("/notifications", 200)
    api.delete(f"/api-keys/{key['id']}", 204)
    assert reader.create(expect=401).headers["WWW-Authenticate"] == "Bearer"
    reader.get("/users/me", 401)
