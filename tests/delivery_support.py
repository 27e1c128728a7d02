"""The delivery service as the tests call it: with its token, as the dispatcher does.

Every route of the delivery service but ``/health`` and ``/metrics`` needs
``Authorization: Bearer <DELIVERY_API_TOKEN>``. The tests' configs all use
:data:`DELIVERY_TOKEN` (the API's ``TestConfig`` holds the same value, so an in-process
dispatcher sends it), and :func:`delivery_app` gives apps whose test client sends it.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from config import TestConfig
from delivery import create_app

DELIVERY_TOKEN = TestConfig.DELIVERY_API_TOKEN
DELIVERY_AUTH = {"Authorization": f"Bearer {DELIVERY_TOKEN}"}
# What a process started by the tests needs in its environment (delivery and worker).
DELIVERY_TOKEN_ENV = {"DELIVERY_API_TOKEN": DELIVERY_TOKEN}


class TokenClient(FlaskClient):
    """A test client that presents the delivery service's token on every request."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.environ_base["HTTP_AUTHORIZATION"] = DELIVERY_AUTH["Authorization"]


def delivery_app(config: type, **overrides: Any) -> Flask:
    """A delivery app built from ``config`` with :data:`DELIVERY_TOKEN` (then ``overrides``),
    and a client (``app.test_client()``) that sends it."""
    settings = {"DELIVERY_API_TOKEN": DELIVERY_TOKEN, **overrides}
    app = create_app(type("WithToken", (config,), settings))
    app.test_client_class = TokenClient
    return app
