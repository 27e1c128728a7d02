"""Structural: no route can skip the caller's check.

Every route outside the public allowlist is wrapped, outermost, by `auth_required`
(so it authenticates before its body is even parsed); the operator's routes have a
credential of their own, and the console's pages sit behind its blueprint's gate.
"""

from flask import Flask

from notifier.auth.principal import auth_required
from tests.test_route_auth import PUBLIC

# Guarded by a credential of its own (METRICS_TOKEN), not by a user's.
OPERATOR_ROUTES = {("GET", "/metrics")}
# The web console's pages: its blueprint's gate makes the session cookie the
# request's Principal (notifier.console.session.start, which asks is_valid) before
# any view runs; its sign-in page and static files are public.
CONSOLE_BLUEPRINT = "console"


def _console_gated(app: Flask, endpoint: str) -> bool:
    from notifier.console.blueprint import _gate

    return endpoint.startswith(f"{CONSOLE_BLUEPRINT}.") and _gate in app.before_request_funcs.get(
        CONSOLE_BLUEPRINT, []
    )


def unguarded_routes(app: Flask) -> list[str]:
    """Routes whose view is not wrapped, outermost, by auth_required."""
    found = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if _console_gated(app, rule.endpoint):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if (method, rule.rule) in PUBLIC | OPERATOR_ROUTES:
                continue
            view_class = getattr(view, "view_class", None)
            handler = getattr(view_class, method.lower(), None) if view_class else view
            if getattr(handler, "auth_requirement", None) is None:
                found.append(f"{method} {rule.rule}")
    return found


def test_every_route_asks_the_principal_module(app):
    assert unguarded_routes(app) == []


def test_a_route_without_the_decorator_is_found(app):
    probe = Flask("probe")
    probe.add_url_rule("/notifications/export", "export", lambda: "")
    probe.add_url_rule("/notifications/own", "own", auth_required()(lambda: ""))
    assert unguarded_routes(probe) == ["GET /notifications/export"]
