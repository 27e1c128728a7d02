"""Web plumbing shared by the Notification API and the delivery service.

Both apps answer every error in one shape (`{"code", "status", "message"[,
"errors"]}`), refuse a body over their limit with 413 whatever its framing,
answer 400 for every body that cannot be read as JSON, and check text fields
the same way. Two copies of these drifted within days, so both apps take them
from here. This module imports libraries, `notifier.pagination` and
`notifier.channels` only (no app, no database): `delivery` may import it as it
imports `notifier.channels`.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import flask_smorest
import marshmallow as ma
import swagger_ui_bundle
from flask import Flask, Request, request, send_from_directory
from marshmallow import ValidationError, fields
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from notifier import channels, pagination

# The sentence of an error raised without one of ours (by Flask, werkzeug or webargs).
MESSAGES = {
    400: "The request body is not valid JSON (or not valid UTF-8).",
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


def http_error(exc_class: type[HTTPException], message: str, **data: Any) -> HTTPException:
    """An HTTPException carrying the message (and `errors`, `headers`) for the Api."""
    error = exc_class()
    error.data = {"message": message, **data}
    return error


class ErrorShapeApi(flask_smorest.Api):
    """flask-smorest's Api whose error payloads always carry a sentence in `message`.

    smorest renders every `HTTPException` in the one shape but copies `message`
    only when the code that raised passed one; unknown routes, 405, 413, 500
    and webargs' own 400 and 422 do not. Flask wraps an unhandled exception in
    an `InternalServerError` (and logs it) before calling this, so a 500 shows
    the shape and no trace.
    """

    def handle_http_exception(self, error: HTTPException):
        data = getattr(error, "data", None)
        if not isinstance(data, dict):
            data = error.data = {}
        if not data.get("message"):
            data["message"] = _validation_message(data) or MESSAGES.get(
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


def _validation_message(data: dict) -> str | None:
    """A sentence naming every invalid field of webargs' nested errors."""
    errors = data.get("errors") or data.get("messages")
    if not isinstance(errors, dict):
        return None
    invalid = [
        ("body" if name == "_schema" else name, messages)
        for location_errors in errors.values()
        if isinstance(location_errors, dict)
        for name, messages in location_errors.items()
    ]
    if not invalid:
        return None
    if len(invalid) > 1:
        names = [name for name, _ in invalid]
        return f"Invalid {', '.join(names[:-1])} and {names[-1]}; see errors for each."
    name, messages = invalid[0]
    first = messages[0] if isinstance(messages, list) and messages else messages
    return f"Invalid {name}: {first}" if isinstance(first, str) else f"Invalid {name}."


class JsonParser(FlaskParser):
    """webargs' Flask parser, for which no request body is a 500.

    webargs answers 400 for malformed JSON and invalid UTF-8 already; a few
    bodies within the size limit still escape `json.loads` as other errors:
    an integer of more than 4300 digits (`ValueError`) and very deep nesting
    (`RecursionError`). They are unreadable bodies too, so they get the same 400.
    """

    def load_json(self, req: Request, schema: ma.Schema) -> Any:
        try:
            return super().load_json(req, schema)
        except (ValueError, RecursionError) as error:
            flask_smorest.abort(400, exc=error, messages={"json": ["Invalid JSON body."]})


class Blueprint(flask_smorest.Blueprint):
    """smorest's Blueprint with the strict JSON parser, the API's pagination
    defaults (page_size 20, at most 100) and a `paginate` that builds no schema
    per request (see notifier.pagination)."""

    ARGUMENTS_PARSER = JsonParser()
    DEFAULT_PAGINATION_PARAMETERS = {"page": 1, "page_size": 20, "max_page_size": 100}

    def paginate(self, *, page=None, page_size=None, max_page_size=None, status_code=200):
        """smorest's decorator for pagination in the view function (no pager class):
        the same parameters, `X-Pagination` header and documentation."""
        defaults = self.DEFAULT_PAGINATION_PARAMETERS
        return pagination.paginate(
            self,
            page=defaults["page"] if page is None else page,
            page_size=defaults["page_size"] if page_size is None else page_size,
            max_page_size=defaults["max_page_size"] if max_page_size is None else max_page_size,
            status_code=status_code,
        )


# A view class may name another setting for its limit (`BODY_LIMIT_SETTING`): the
# one route that takes large bodies (a batch's recipients) says so where it is
# defined; every other route keeps MAX_CONTENT_LENGTH.
BODY_LIMIT_SETTING = "BODY_LIMIT_SETTING"


def body_limit(app: Flask) -> int | None:
    """The body limit of the route this request matched, in bytes."""
    view = app.view_functions.get(request.endpoint) if request.endpoint else None
    setting = getattr(getattr(view, "view_class", None), BODY_LIMIT_SETTING, None)
    return app.config.get(setting or "MAX_CONTENT_LENGTH")


def register_body_limit(app: Flask) -> None:
    """413 for every body over MAX_CONTENT_LENGTH, whatever its type or framing.

    Werkzeug enforces the limit only when the body is read: a large body that is
    not JSON was never read (it became a 422), and a chunked body (no length) is
    cut at the limit silently and then reads as malformed JSON. Checking up
    front, before any other hook touches the stream, makes the answer honest.
    """

    def limit_body_size() -> None:
        limit = body_limit(app)
        if limit is None:
            return
        # Werkzeug's own check (when the body is read) follows the same limit.
        request.max_content_length = limit
        too_large = http_error(
            RequestEntityTooLarge, f"The request body is larger than the {limit} bytes allowed."
        )
        if request.content_length is not None:
            if request.content_length > limit:
                raise too_large
            return
        environ = request.environ
        if "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            return
        body = environ["wsgi.input"].read(limit + 1)
        if len(body) > limit:
            raise too_large
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ.pop("wsgi.input_terminated", None)

    # First of all hooks: a later one (a rate limiter's key, a counter) may read the body.
    app.before_request_funcs.setdefault(None, []).insert(0, limit_body_size)


def register_docs_assets(app: Flask) -> None:
    """Serve Swagger UI's files from the installed bundle: /docs works offline."""
    prefix = str(app.config.get("OPENAPI_SWAGGER_UI_URL") or "").rstrip("/")
    if not prefix.startswith("/"):  # assets from elsewhere (a CDN): nothing to serve
        return
    assets = Path(swagger_ui_bundle.swagger_ui_path)

    @app.get(f"{prefix}/<path:filename>")
    def swagger_ui_assets(filename: str):
        return send_from_directory(assets, filename, max_age=86_400)


class BaseSchema(ma.Schema):
    """Unknown fields are an error (422), not silently dropped."""

    class Meta:
        unknown = ma.RAISE


# NUL: PostgreSQL cannot store it. A lone UTF-16 surrogate (JSON "\ud800"): no
# encoding can write it, so it could be neither stored nor sent.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class StrictBoolean(fields.Boolean):
    """A JSON body's `true` or `false` only: marshmallow's Boolean also takes "yes", 1,
    "on"..., which the OpenAPI document (type boolean) does not allow."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class Text(fields.String):
    """A string that can be stored and sent: no NUL, no lone surrogate; trimmed if asked.

    Single-line by default (a title, a name, a description, an address): no C0 or C1
    control character at all, line breaks and tabs included. ``multiline=True`` (a
    message body) allows line feed, carriage return and tab, and no other control
    character. The rule is :mod:`notifier.channels`'s, which the delivery service applies
    too; it is checked before trimming, so that a form feed at the end is refused rather
    than silently cut off.
    """

    default_error_messages = {
        "nul": "NUL characters are not allowed.",
        "invalid_unicode": "Not valid Unicode text.",
    }

    def __init__(self, *, trim: bool = False, multiline: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.trim = trim
        self.multiline = multiline

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        unstorable = _UNSTORABLE.search(text)
        if unstorable:
            raise self.make_error("nul" if unstorable.group() == "\x00" else "invalid_unicode")
        problem = (channels.body_problem if self.multiline else channels.single_line_problem)(text)
        if problem:
            raise ValidationError(problem)
        return text.strip() if self.trim else text
