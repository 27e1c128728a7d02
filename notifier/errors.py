"""The Notification API's errors: domain exceptions, JWT failures, a lost database.

Every error leaves through `notifier.web.ErrorShapeApi.handle_http_exception`
(shared with the delivery service), so every response has one shape:
`{"code", "status", "message"[, "errors"]}`. This module builds the exceptions
that carry our messages and registers the handlers that turn flask-jwt-extended's
and SQLAlchemy's failures into that shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import (
    Conflict,
    HTTPException,
    InternalServerError,
    NotFound,
    ServiceUnavailable,
    Unauthorized,
    UnprocessableEntity,
)

from notifier.web import BEARER, ErrorShapeApi, http_error
from notifier.web import MESSAGES as DEFAULT_MESSAGES

if TYPE_CHECKING:
    # A type only: the dispatcher imports this module (through the rate limiter's
    # purge) and needs no JWT library.
    from flask_jwt_extended import JWTManager

__all__ = [
    "DEFAULT_MESSAGES",
    "conflict",
    "http_error",
    "not_found",
    "register_database_errors",
    "register_jwt_callbacks",
    "unauthorized",
    "unprocessable",
]


def not_found(message: str) -> HTTPException:
    return http_error(NotFound, message)


def conflict(message: str, headers: dict | None = None) -> HTTPException:
    return http_error(Conflict, message, headers=headers or {})


def unprocessable(field: str, message: str, location: str = "json") -> HTTPException:
    """A 422 naming the field, in flask-smorest's nesting by location."""
    return http_error(UnprocessableEntity, message, errors={location: {field: [message]}})


def unauthorized(message: str) -> HTTPException:
    return http_error(Unauthorized, message, headers=BEARER)


INVALID_TOKEN = "The token is invalid."  # noqa: S105 (a message, not a secret)
# flask-jwt-extended's WrongTokenError texts (notifier.auth.principal raises the same ones):
# say which token the route takes, not merely "invalid".
WRONG_TOKEN = {
    "Only non-refresh tokens are allowed": "This is a refresh token: send it to "
    "POST /auth/refresh for a new access token, and call this route with the access token.",
    "Only refresh tokens are allowed": "POST /auth/refresh takes the refresh token from "
    "POST /auth/login, not an access token.",
}
# An expired token says what to do next: refresh an access token; log in again when the
# refresh token itself has expired.
EXPIRED_TOKEN = {
    False: "The access token has expired: get a new one from POST /auth/refresh with your "
    "refresh token (or log in again).",
    True: "The refresh token has expired: log in again (POST /auth/login).",
}


def register_jwt_callbacks(jwt: JWTManager, api: ErrorShapeApi) -> None:
    """Replace flask-jwt-extended's `{"msg"}` bodies and 422s with our 401 shape."""

    def respond(message: str):
        return api.handle_http_exception(unauthorized(message))

    jwt.unauthorized_loader(lambda reason: respond("A valid access token is required."))
    jwt.invalid_token_loader(lambda reason: respond(WRONG_TOKEN.get(reason, INVALID_TOKEN)))
    jwt.expired_token_loader(
        lambda header, payload: respond(EXPIRED_TOKEN[payload.get("type") == "refresh"])
    )
    jwt.revoked_token_loader(lambda header, payload: respond("The token has been revoked."))
    jwt.needs_fresh_token_loader(lambda header, payload: respond("A fresh token is required."))
    jwt.user_lookup_error_loader(
        lambda header, payload: respond("The token's user no longer exists.")
    )
    jwt.token_verification_failed_loader(lambda header, payload: respond(INVALID_TOKEN))


def register_database_errors(app: Flask, api: ErrorShapeApi) -> None:
    """The database unreachable (down, restarting, out of connections) is a 503
    with Retry-After in the one shape, not a 500: nothing was written, try again."""

    def unavailable(error: DBAPIError):
        if not isinstance(error, OperationalError) and not error.connection_invalidated:
            return api.handle_http_exception(InternalServerError(original_exception=error))
        app.logger.warning("database unavailable: %s", error.orig)
        return api.handle_http_exception(
            http_error(
                ServiceUnavailable,
                "The database is unavailable; try again shortly.",
                headers={"Retry-After": "1"},
            )
        )

    app.register_error_handler(DBAPIError, unavailable)
