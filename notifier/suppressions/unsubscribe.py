"""One-click unsubscribe (RFC 8058): signed links that suppress an email address.

A token (`tokens`) names the user id, the channel and the target, signed, so it
can be neither guessed nor altered. It suppresses that target for that user
only; a sandbox notification's link suppresses nothing. `POST
/unsubscribe/<token>` (what mail clients send on a one-click unsubscribe) adds
the suppression; `GET` only shows a page with a button that POSTs, because mail
scanners follow links.
"""

from __future__ import annotations

from html import escape

from flask import Response, current_app
from flask.views import MethodView
from sqlalchemy import select

from notifier.database import autocommit
from notifier.errors import not_found
from notifier.suppressions import service, tokens
from notifier.suppressions.models import Reason
from notifier.users.models import User
from notifier.web import Blueprint

NOT_FOUND = "This unsubscribe link is not valid."

blp = Blueprint(
    "unsubscribe",
    __name__,
    url_prefix="/unsubscribe",
    description="One-click unsubscribe links of emails (no credential: the link is signed)",
)


def _verified(token: str) -> tuple[int, str, str, bool]:
    found = tokens.verify(current_app.config, token)
    if found is None:
        raise not_found(NOT_FOUND)
    return found


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
    @blp.doc(security=[])
    @blp.response(200, content_type="text/html", description="A page with a button that POSTs")
    @blp.alt_response(404, description="The link does not verify")
    def get(self, token):
        """A page asking to confirm; following the link never unsubscribes"""
        _, _, target, _ = _verified(token)
        html = PAGE.format(target=escape(target), action=escape(f"/unsubscribe/{token}"))
        return Response(html, 200, mimetype="text/html")

    @blp.doc(security=[])
    @blp.response(200, description='{"status": "unsubscribed"}')
    @blp.alt_response(404, description="The link does not verify")
    def post(self, token):
        """Unsubscribe (RFC 8058 one-click): the address is not sent to again

        Any body is accepted. Repeating it answers the same.
        """
        user_id, channel, target, sandbox = _verified(token)
        with autocommit() as connection:
            if connection.scalar(select(User.id).where(User.id == user_id)) is None:
                raise not_found(NOT_FOUND)
            # A sandbox email reached nobody real: its link suppresses nothing.
            if not sandbox:
                service.add(connection, user_id, channel, target, Reason.UNSUBSCRIBE)
        return {"status": "unsubscribed"}
