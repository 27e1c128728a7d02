"""Fixtures of the console tests: a browser-like client, and a signed-in one."""

from __future__ import annotations

import pytest

from tests.console.support import ConsoleClient, sign_in
from tests.factories import UserFactory


@pytest.fixture
def browser(app) -> ConsoleClient:
    """A client with no session."""
    app.test_client_class = ConsoleClient
    try:
        return app.test_client()
    finally:
        app.test_client_class = None


@pytest.fixture
def signed_in(app, browser, user) -> ConsoleClient:
    """A client signed in to the console as `user`."""
    assert sign_in(browser, user.email).status_code == 302
    return browser


@pytest.fixture
def stranger(app):
    """A second user, whose data the signed-in user must not see."""
    return UserFactory()
