"""The web console: server-rendered pages under `/console`, another door into the same rooms.

Every view calls the service the API route calls and renders its answer; no SQL
and no rule lives here. The package holds the blueprint (`blueprint.py`), the
session (`session.py`), form handling (`forms.py`), one module of views per
room (`views/`), the Jinja templates (`templates/console/`, one base layout,
autoescaped) and the static files (`static/`, served by the app: no internet).

A new room (batches, suppressions) is one module in `views/` that registers its
routes on `blueprint.bp` and its nav entry with `blueprint.page`, plus its
templates; `VIEWS` below imports it.
"""

from __future__ import annotations

import importlib

from flask import Flask

from notifier.console.blueprint import bp, csrf
from notifier.suppressions import tokens

# The view modules, imported for their routes (nav order follows this order).
VIEWS = (
    "overview",
    "notifications",
    "templates",
    "batches",
    "suppressions",
    "api_keys",
    "webhooks",
    "auth",
)


def init_app(app: Flask) -> None:
    """Register the console: its session cookie, CSRF on its forms only, its routes."""
    for name in VIEWS:
        importlib.import_module(f"notifier.console.views.{name}")
    # One key signs the session cookie and unsubscribe links (each with its own salt).
    app.config["SECRET_KEY"] = tokens.secret(app.config)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = (app.config.get("PUBLIC_BASE_URL") or "").startswith(
        "https://"
    )
    # CSRF is checked by the console blueprint's before_request (blueprint.py), never
    # app-wide: the JSON API authenticates with bearer tokens, not cookies.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf.init_app(app)
    app.register_blueprint(bp)
