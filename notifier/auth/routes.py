"""Routes: `POST /auth/login`, `POST /auth/refresh`, `POST /auth/logout`."""

from __future__ import annotations

from flask import request
from flask.views import MethodView

from notifier import ratelimit
from notifier.auth import service
from notifier.auth.principal import auth_required
from notifier.auth.schemas import AccessTokenSchema, LoginSchema, TokensSchema
from notifier.openapi import TOO_MANY
from notifier.web import Blueprint

blp = Blueprint("auth", __name__, url_prefix="/auth", description="Tokens")


@blp.route("/login")
class Login(MethodView):
    @blp.doc(security=[])
    @blp.arguments(LoginSchema())
    @blp.response(200, TokensSchema)
    @blp.alt_response(401, description="Bad credentials")
    @blp.alt_response(429, response=TOO_MANY)
    def post(self, data):
        """Log in: an access token and a refresh token

        Limited per client address and email, in any spelling (default 10 a
        minute), per email from all addresses (50 an hour) and per client address
        for all emails (100 an hour); an IPv6 client counts by its /64. A body
        that fails validation tries no password and is not counted.
        """
        ratelimit.count_login(request.remote_addr, data["email"])
        return service.login(data["email"], data["password"])


@blp.route("/refresh")
class Refresh(MethodView):
    @auth_required(refresh=True)
    @blp.response(200, AccessTokenSchema)
    def post(self):
        """A new access token, from a refresh token"""
        return service.refresh()


@blp.route("/logout")
class Logout(MethodView):
    @auth_required()
    @blp.response(204)
    def post(self):
        """Log out: revoke this login's access and refresh tokens"""
        service.logout()
