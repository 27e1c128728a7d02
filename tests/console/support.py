"""Helpers of the console tests: sign in through the form, read a page's CSRF token,
count rows, add a webhook directly."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import func, select

from notifier.extensions import db
from notifier.webhooks.models import Webhook
from tests.factories import PASSWORD

HOSTILE = '<script>alert("x")</script>'


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


def row_count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def add_webhook(user_id: int, url: str = "https://hooks.example.com/in") -> Webhook:
    hook = Webhook(user_id=user_id, url=url, secret="whsec_" + "A" * 44)
    db.session.add(hook)
    db.session.commit()
    return hook
