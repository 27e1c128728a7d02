"""Routes: `POST /auth/login`, `POST /auth/refresh`, `POST /auth/logout`."""

from __future__ import annotations

from functools import wraps

from flask import current_app, request
from flask.views import MethodView

from notifier.auth import service
from notifier.auth.principal import auth_required
from notifier.auth.schemas import AccessTokenSchema, LoginSchema, TokensSchema
from notifier.extensions import Blueprint
from notifier.ratelimit import count_attempt

blp = Blueprint("auth", __name__, url_prefix="/auth", description="Tokens")


def login_rate_key() -> str:
    """Rate-limit key: the client address and the email it tries (any case)."""
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    email = email.strip().lower() if isinstance(email, str) else ""
    return f"login:{request.remote_addr}:{email[:320]}"


def login_rate_limited(view):
    """Count every attempt, before its body is validated: a malformed one counts too."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        count_attempt(current_app.config["RATELIMIT_LOGIN"], login_rate_key())
        return view(*args, **kwargs)

    return wrapper


@blp.route("/login")
class Login(MethodView):
    decorators = [login_rate_limited]

    @blp.doc(security=[])
    @blp.arguments(LoginSchema())
    @blp.response(200, TokensSchema)
    @blp.alt_response(401, description="Bad credentials")
    @blp.alt_response(429, description="Too many attempts; see Retry-After")
    def post(self, data):
        """Log in: an access token and a refresh token

        Limited per client address and email (default 10 a minute).
        """
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
