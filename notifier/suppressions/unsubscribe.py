"""One-click unsubscribe (RFC 8058): signed links that suppress an email address.

A token is the user id, the channel and the target, signed with itsdangerous
(keyed with `SECRET_KEY`, or a key derived from `JWT_SECRET_KEY` when it is
unset), so it can be neither guessed nor altered. It suppresses that target for
that user only. `POST /unsubscribe/<token>` (what mail clients send on a
one-click unsubscribe) adds the suppression; `GET` only shows a page with a
button that POSTs, because mail scanners follow links.
"""

from __future__ import annotations

import hashlib
import hmac
from html import escape

from flask import Response, current_app
from flask.views import MethodView
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import select

from notifier.channels import EMAIL
from notifier.database import autocommit
from notifier.errors import not_found
from notifier.suppressions import service
from notifier.suppressions.models import Reason
from notifier.users.models import User
from notifier.web import Blueprint

SALT = "notifier.unsubscribe"
MAX_TOKEN_CHARS = 8192
NOT_FOUND = "This unsubscribe link is not valid."

blp = Blueprint(
    "unsubscribe",
    __name__,
    url_prefix="/unsubscribe",
    description="One-click unsubscribe links of emails (no credential: the link is signed)",
)


def _secret() -> str:
    own = current_app.config.get("SECRET_KEY")
    if own:
        return own
    # Derived, not the JWT key itself: a token of one kind can never pass as the other.
    jwt_key = current_app.config["JWT_SECRET_KEY"].encode()
    return hmac.new(jwt_key, b"notifier unsubscribe tokens", hashlib.sha256).hexdigest()


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(_secret(), salt=SALT)


def token_for(user_id: int, channel: str, target: str) -> str:
    """The signed token naming this user's target."""
    return _serializer().dumps([user_id, channel, target])


def unsubscribe_url(user_id: int, channel: str, target: str, wanted: bool) -> str | None:
    """`{PUBLIC_BASE_URL}/unsubscribe/<token>` for a wanted email link; else None."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not (wanted and channel == EMAIL and base):
        return None
    return f"{base}/unsubscribe/{token_for(user_id, channel, target)}"


def _verified(token: str) -> tuple[int, str, str]:
    if len(token) > MAX_TOKEN_CHARS:
        raise not_found(NOT_FOUND)
    try:
        user_id, channel, target = _serializer().loads(token)
    except (BadData, TypeError, ValueError):
        raise not_found(NOT_FOUND) from None
    if not (isinstance(user_id, int) and isinstance(channel, str) and isinstance(target, str)):
        raise not_found(NOT_FOUND)
    return user_id, channel, target


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Unsubscribe</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>Unsubscribe</h1>
<p>Stop sending messages to <strong>{target}</strong>?</p>
<form method="post" action="{action}"><button type="submit">Unsubscribe</button></form>
</main></body></html>
"""


@blp.route("/<string:token>")
class Unsubscribe(MethodView):
    @blp.response(200, content_type="text/html", description="A page with a button that POSTs")
    @blp.alt_response(404, description="The link does not verify")
    def get(self, token):
        """A page asking to confirm; following the link never unsubscribes"""
        _, _, target = _verified(token)
        html = PAGE.format(target=escape(target), action=escape(f"/unsubscribe/{token}"))
        return Response(html, 200, mimetype="text/html")

    @blp.response(200, description='{"status": "unsubscribed"}')
    @blp.alt_response(404, description="The link does not verify")
    def post(self, token):
        """Unsubscribe (RFC 8058 one-click): the address is not sent to again

        Any body is accepted. Repeating it answers the same.
        """
        user_id, channel, target = _verified(token)
        with autocommit() as connection:
            if connection.scalar(select(User.id).where(User.id == user_id)) is None:
                raise not_found(NOT_FOUND)
            service.add(connection, user_id, channel, target, Reason.UNSUBSCRIBE)
        return {"status": "unsubscribed"}
