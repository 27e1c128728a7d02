"""Bearer-token checks for every protected route, and the current user's id.

flask-jwt-extended issues the tokens and renders every token error (see
`errors.register_jwt_callbacks`); `token_required` verifies them. It parses
the token once: `jwt_required` parsed each token four times (two unverified
decodes, two header reads), a third of a GET's CPU in the profile. It raises
flask-jwt-extended's own exceptions, so a bad token gets the same answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps

import jwt as pyjwt
from flask import current_app, g, request
from flask_jwt_extended.exceptions import (
    InvalidHeaderError,
    JWTDecodeError,
    NoAuthorizationError,
    RevokedTokenError,
    WrongTokenError,
)
from sqlalchemy import and_, bindparam, exists, select

from notifier.auth.models import AuthSession
from notifier.database import autocommit

SESSION_CLAIM = "sid"
_HEADER_TYPE = "Bearer"
_SPLIT_SCHEMES = re.compile(r",\s*")


def session_active(user_id_param: str = "user_id"):
    """EXISTS: the login session in bind parameter `session_id`, of the user in
    `user_id_param`, is not revoked. A token outliving its user is refused too
    (sessions are deleted with the user)."""
    return exists().where(
        and_(
            AuthSession.id == bindparam("session_id"),
            AuthSession.user_id == bindparam(user_id_param),
            AuthSession.revoked_at.is_(None),
        )
    )


# Built once: the per-request check then skips building and hashing the query.
ACTIVE_SESSION = session_active()
_SESSION_IS_ACTIVE = select(ACTIVE_SESSION)


def token_required(*, refresh: bool = False, session_checked_by_query: bool = False):
    """Require a valid access (or `refresh`) token of an active login session.

    By default the session is checked here, one primary-key read. A route whose
    service puts `ACTIVE_SESSION` into its own statement passes
    `session_checked_by_query=True` and saves that round trip; when that
    statement matches nothing, the service calls `ensure_session_active()` to
    tell a revoked token (401) from a missing row.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            verify_token(refresh=refresh)
            if not session_checked_by_query:
                ensure_session_active()
            return view(*args, **kwargs)

        return wrapper

    return decorator


def verify_token(*, refresh: bool = False) -> dict:
    """Decode the bearer token once and keep its claims for `get_jwt()`."""
    encoded = _bearer_token()
    config = current_app.config
    try:
        decoded = pyjwt.api_jwt.decode_complete(
            encoded,
            config["JWT_SECRET_KEY"],
            algorithms=config["JWT_DECODE_ALGORITHMS"],
            leeway=config.get("JWT_DECODE_LEEWAY", 0),
            options={"require": ["exp", "sub"]},
        )
    except pyjwt.ExpiredSignatureError as error:
        # flask-jwt-extended's handler reads these two attributes.
        error.jwt_header, error.jwt_data = {}, {}
        raise
    claims, header = decoded["payload"], decoded["header"]
    token_type = claims.get("type", "access")
    if token_type != ("refresh" if refresh else "access"):
        raise WrongTokenError(f"Only {'refresh' if refresh else 'non-refresh'} tokens are allowed")
    subject, session_id = claims["sub"], claims.get(SESSION_CLAIM)
    if not (isinstance(subject, str) and subject.isdigit() and len(subject) <= 18):
        raise JWTDecodeError("The subject is not a user id")
    if not isinstance(session_id, str):
        raise JWTDecodeError(f"Missing claim: {SESSION_CLAIM}")
    claims.setdefault("type", "access")
    # What flask-jwt-extended's `get_jwt()` and `get_jwt_identity()` read.
    g._jwt_extended_jwt = claims
    g._jwt_extended_jwt_header = header
    g._jwt_extended_jwt_user = {"loaded_user": None}
    g._jwt_extended_jwt_location = "headers"
    return claims


def _bearer_token() -> str:
    """The token of `Authorization: Bearer <JWT>` (other schemes may sit beside it)."""
    header = request.headers.get("Authorization", "").strip().strip(",")
    if not header:
        raise NoAuthorizationError("Missing Authorization Header")
    bearer = [s for s in _SPLIT_SCHEMES.split(header) if s and s.split()[0] == _HEADER_TYPE]
    if len(bearer) != 1:
        raise NoAuthorizationError("Missing 'Bearer' type in 'Authorization' header")
    parts = bearer[0].split()
    if len(parts) != 2:
        raise InvalidHeaderError("Bad Authorization header. Expected 'Bearer <JWT>'")
    return parts[1]


def current_user_id() -> int:
    """The id of the verified token's user (`sub` is a string, as PyJWT requires)."""
    return int(g._jwt_extended_jwt["sub"])


def session_params() -> dict:
    """Bind parameters of `ACTIVE_SESSION` for the verified token."""
    claims = g._jwt_extended_jwt
    return {"session_id": claims[SESSION_CLAIM], "user_id": int(claims["sub"])}


def ensure_session_active() -> None:
    """Refuse the token if its login session was revoked or its user deleted.

    One primary-key read per request, so a logout is seen at once by every
    process and host.
    """
    if session_revoked():
        raise RevokedTokenError(g._jwt_extended_jwt_header, g._jwt_extended_jwt)


def session_revoked() -> bool:
    with autocommit() as connection:
        return not connection.execute(_SESSION_IS_ACTIVE, session_params()).scalar()
