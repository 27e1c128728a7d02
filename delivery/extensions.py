"""The delivery service's flask-smorest pieces: an Api that always says why, and a strict parser.

flask-smorest renders every ``HTTPException`` as ``{"code", "status", "message"}``
(plus ``"errors"`` for validation), but only copies ``message`` when the code that
aborted passed one. Unknown routes, 405, 413, 500 and webargs' own 422 do not, so
:class:`DeliveryApi` fills in a sentence for those. :class:`DeliveryParser` makes
every unreadable body a 400 (never a 500), and :class:`Blueprint` uses it.

The Api *instance* is created in :func:`delivery.create_app`, one per app, rather
than here: an ``Api`` keeps one OpenAPI spec, and the tests build many apps.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

import flask_smorest
from flask import Request, current_app
from flask_smorest import abort
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException, MethodNotAllowed

INVALID_BODY_MESSAGE = "The request body is invalid; see errors for the fields at fault."
INVALID_JSON_MESSAGE = "The request body is not valid JSON (or not valid UTF-8)."


def _default_message(error: HTTPException) -> str:
    """A sentence for an error that was raised without one."""
    if error.code == 422:
        return INVALID_BODY_MESSAGE
    if error.code == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        if limit:
            return f"The request body is larger than the {limit} bytes allowed."
    if error.code == 404:
        return "There is nothing at this address."
    # werkzeug's descriptions are sentences with no request data in them.
    return error.description or error.name


class DeliveryApi(flask_smorest.Api):
    """flask-smorest's Api whose error payloads always carry a non-empty ``message``."""

    def handle_http_exception(
        self, error: HTTPException
    ) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Render any HTTP error in the one error shape (this is the only renderer)."""
        payload, code, headers = super().handle_http_exception(error)
        if not payload.get("message"):
            payload["message"] = _default_message(error)
        # smorest drops werkzeug's own headers; a 405 should still say what is allowed.
        if isinstance(error, MethodNotAllowed) and error.valid_methods and "Allow" not in headers:
            headers = {**headers, "Allow": ", ".join(sorted(error.valid_methods))}
        return payload, code, headers


class DeliveryParser(FlaskParser):
    """webargs' Flask parser, but no request body can turn into a 500.

    Malformed JSON and invalid UTF-8 are already 400 in webargs; a few inputs
    within the size limit still escape as other exceptions from ``json.loads``:
    integers of more than 4300 digits (``ValueError``) and very deep nesting
    (``RecursionError``). They are malformed input too, so they get the same 400.
    """

    def _raw_load_json(self, req: Request) -> Any:
        try:
            return super()._raw_load_json(req)
        except json.JSONDecodeError:
            raise  # webargs' load_json turns this into _handle_invalid_json_error
        except (ValueError, RecursionError) as exc:
            self._abort_invalid_json(exc)

    def _handle_invalid_json_error(
        self, error: Exception, req: Request, *args: Any, **kwargs: Any
    ) -> NoReturn:
        self._abort_invalid_json(error)

    @staticmethod
    def _abort_invalid_json(error: Exception) -> NoReturn:
        abort(
            400,
            exc=error,
            message=INVALID_JSON_MESSAGE,
            errors={"json": ["Invalid JSON body."]},
        )


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest Blueprint that parses bodies with :class:`DeliveryParser`."""

    ARGUMENTS_PARSER = DeliveryParser()
