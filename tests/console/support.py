"""Helpers of the console tests: sign in through the form, read a page's CSRF token."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.factories import PASSWORD


class ConsoleClient(FlaskClient):
    """A test client whose every request gets its own application context, as a
    served request does: the suite keeps one app context open for the session,
    which Flask would otherwise reuse (and its `g`, where Flask-WTF caches the
    request's CSRF token) for every request."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/console/login") -> str:
    page = client.get(path)
    match = TOKEN.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD):
    token = csrf_token(client)
    return client.post(
        "/console/login", data={"email": email, "password": password, "csrf_token": token}
    )


def post_form(client: FlaskClient, path: str, data: dict | None = None, page: str | None = None):
    """POST a console form with a token taken from `page` (default: the path itself)."""
    token = csrf_token(client, page or path)
    return client.post(path, data={**(data or {}), "csrf_token": token})
