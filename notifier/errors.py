"""The single error payload, domain exceptions and the JWT error callbacks.

Every error leaves through flask-smorest's `handle_http_exception`, so every
response has one shape: `{"code", "status", "message"[, "errors"]}`.
"""

from __future__ import annotations

from flask_smorest import Api
from werkzeug.exceptions import (
    Conflict,
    HTTPException,
    NotFound,
    Unauthorized,
    UnprocessableEntity,
)

# Messages for errors raised by Flask, werkzeug or webargs without one of ours.
DEFAULT_MESSAGES = {
    400: "The request body is not valid JSON.",
    401: "A valid access token is required.",
    403: "You are not allowed to do this.",
    404: "The requested resource was not found.",
    405: "This method is not allowed on this resource.",
    409: "The request conflicts with the current state of the resource.",
    413: "The request body is too large.",
    415: "The request body must be JSON.",
    422: "The request failed validation.",
    429: "Too many requests; try again later.",
    500: "An internal error occurred; it has been logged.",
    503: "The service is temporarily unavailable.",
}

BEARER = {"WWW-Authenticate": "Bearer"}


class ErrorShapeApi(Api):
    """flask-smorest's Api whose handler never answers without a `message`.

    Flask wraps an unhandled exception in an `InternalServerError` (and logs it)
    before calling this handler, so a 500 shows the shape and no trace.
    """

    def handle_http_exception(self, error: HTTPException):
        data = getattr(error, "data", None)
        if not isinstance(data, dict):
            data = {}
            error.data = data
        if not data.get("message"):
            data["message"] = _first_validation_error(data) or DEFAULT_MESSAGES.get(
                error.code, error.description or error.name
            )
        headers = dict(data.get("headers") or {})
        if error.code == 401:
            headers.update(BEARER)
        valid_methods = getattr(error, "valid_methods", None)
        if error.code == 405 and valid_methods:
            # smorest drops werkzeug's headers; a 405 should still say what is allowed.
            headers["Allow"] = ", ".join(sorted(valid_methods))
        data["headers"] = headers
        return super().handle_http_exception(error)


def _first_validation_error(data: dict) -> str | None:
    """A sentence from webargs' nested errors: 'Invalid title: Shorter than ...'."""
    errors = data.get("errors") or data.get("messages")
    if not isinstance(errors, dict):
        return None
    for location_errors in errors.values():
        if isinstance(location_errors, dict):
            for field, messages in location_errors.items():
                first = messages[0] if isinstance(messages, list) and messages else messages
                name = "body" if field == "_schema" else field
                if isinstance(first, str):
                    return f"Invalid {name}: {first}"
                return f"Invalid {name}."
    return None


def http_error(exc_class: type[HTTPException], message: str, **data) -> HTTPException:
    """An HTTPException carrying the message (and extra data) for the handler."""
    error = exc_class()
    error.data = {"message": message, **data}
    return error


def not_found(message: str) -> HTTPException:
    return http_error(NotFound, message)


def conflict(message: str, headers: dict | None = None) -> HTTPException:
    return http_error(Conflict, message, headers=headers or {})


def unprocessable(field: str, message: str, location: str = "json") -> HTTPException:
    """A 422 naming the field, in flask-smorest's nesting by location."""
    return http_error(UnprocessableEntity, message, errors={location: {field: [message]}})


def unauthorized(message: str) -> HTTPException:
    return http_error(Unauthorized, message, headers=BEARER)


def register_jwt_callbacks(jwt) -> None:
    """Replace flask-jwt-extended's `{"msg"}` bodies and 422s with our 401 shape."""
    from notifier.extensions import api

    def respond(message: str):
        return api.handle_http_exception(unauthorized(message))

    jwt.unauthorized_loader(lambda reason: respond("A valid access token is required."))
    jwt.invalid_token_loader(lambda reason: respond("The token is invalid."))
    jwt.expired_token_loader(lambda header, payload: respond("The token has expired."))
    jwt.revoked_token_loader(lambda header, payload: respond("The token has been revoked."))
    jwt.needs_fresh_token_loader(lambda header, payload: respond("A fresh token is required."))
    jwt.user_lookup_error_loader(
        lambda header, payload: respond("The token's user no longer exists.")
    )
    jwt.token_verification_failed_loader(lambda header, payload: respond("The token is invalid."))


def register_database_errors(app, api) -> None:
    """The database unreachable (down, restarting, out of connections) is a 503
    with Retry-After in the one shape, not a 500: nothing was written, try again."""
    from sqlalchemy.exc import DBAPIError, OperationalError
    from werkzeug.exceptions import InternalServerError, ServiceUnavailable

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
