"""How the OpenAPI document says what the schemas enforce, for every schema at once.

flask-smorest builds the document from the marshmallow schemas through apispec's
marshmallow plugin; `SpecPlugin` is that plugin with four additions, so that a new
schema or route is documented as strictly as the API checks it without any work:

- a `Text` field gets a `pattern` for its character rule (`LINE_PATTERN` when it
  is trimmed: one line, no control character, not blank; `TEXT_PATTERN` when it
  is not: no control character but tab and line breaks), unless it says its own;
  an account email (`AccountEmail` on registration) gets `format: email`;
- an answer's schema (every field `dump_only`) lists every field as `required`:
  the API always sends them all, `null` where the field says `allow_none`;
- a schema's `OPENAPI` class attribute is merged into its JSON schema: room for
  the rules that tie fields together (a notification's target per channel);
- every operation documents the error statuses it can answer, in the one error
  shape: 401 and 403 unless it is public, 400, 413 and 422 when it takes a body,
  404 when its path names a resource; a route adds its own (409, 429) with
  `@blp.alt_response(409, response=CONFLICT)`, and an error response documented
  with a description only gets the error shape too.

`Api` is the app's flask-smorest Api built with `SpecPlugin`, whose `ErrorSchema`
says which fields of an error are always there.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

import marshmallow as ma
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import get_fields
from apispec.ext.marshmallow.openapi import OpenAPIConverter
from marshmallow import fields

from notifier.emails import AccountEmail
from notifier.web import ErrorShapeApi, Text

# Control characters: C0, DEL and C1 (Unicode category Cc).
_CONTROLS = "\\u0000-\\u001f\\u007f-\\u009f"
# Control characters but tab, line feed and carriage return.
_CONTROLS_BUT_LINE_BREAKS = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f"
# Line and paragraph separators: a title is one line.
_SEPARATORS = "\\u2028\\u2029"
# What trimming removes (str.strip) that is neither a control nor a separator.
_SPACES = " \\u00a0\\u1680\\u2000-\\u200a\\u202f\\u205f\\u3000"

# A trimmed field: one line without control characters, not blank. Written with
# \u escapes only, so JSON Schema (ECMA-262) and Python read it alike.
LINE_PATTERN = f"^[{_SPACES}]*[^{_SPACES}{_CONTROLS}{_SEPARATORS}][^{_CONTROLS}{_SEPARATORS}]*$"
# Free text (a notification's content): no control character but tab, LF and CR.
TEXT_PATTERN = f"^[^{_CONTROLS_BUT_LINE_BREAKS}]*$"

# The shared error responses, by status: (component name, description, headers).
_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds"}}
ERRORS: dict[int, tuple[str, str, dict]] = {
    400: ("BadRequest", "The body is not valid JSON (or not valid UTF-8).", {}),
    401: (
        "Unauthorized",
        "No valid credential: missing, malformed, expired or revoked.",
        {"WWW-Authenticate": {"schema": {"type": "string"}}},
    ),
    403: ("Forbidden", "The credential may not call this route (an API key's scope).", {}),
    404: ("NotFound", "No such resource among yours.", {}),
    409: ("Conflict", "The request conflicts with the resource's current state.", {}),
    413: ("PayloadTooLarge", "The body is larger than the API accepts.", {}),
    422: ("UnprocessableEntity", "A field is invalid: `errors` names each one.", {}),
    429: ("TooManyRequests", "Too many requests; wait for Retry-After seconds.", _RETRY_AFTER),
}
BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, CONFLICT, TOO_LARGE, INVALID, TOO_MANY = (
    name for name, _description, _headers in ERRORS.values()
)
ERROR_SCHEMA = "Error"  # the component of `Api.ERROR_SCHEMA`


def error_statuses(path: str, operation: dict) -> set[int]:
    """The error statuses every operation like this one can answer."""
    statuses = set()
    if operation.get("security") != []:
        statuses |= {401, 403}
    if "requestBody" in operation:
        statuses |= {400, 413}
        if "application/json" in operation["requestBody"].get("content", {}):
            statuses.add(422)  # a schema checks it (a form such as Twilio's is read by hand)
    if any(parameter.get("in") in ("query", "header") for parameter in _parameters(operation)):
        statuses.add(422)
    if "{" in path:
        statuses.add(404)
    return statuses


def _parameters(operation: dict) -> list[dict]:
    return [p for p in operation.get("parameters", []) if isinstance(p, dict)]


def text_properties(self, field: fields.Field, ret: dict, **kwargs: Any) -> dict:
    """apispec attribute function: a Text field's character rule as a pattern;
    an account email (not a login's lookup) as `format: email`."""
    if not isinstance(field, Text):
        return {}
    properties: dict[str, Any] = {}
    if "pattern" not in ret:
        properties["pattern"] = LINE_PATTERN if field.trim else TEXT_PATTERN
    if isinstance(field, AccountEmail) and not field.lookup and "format" not in ret:
        properties["format"] = "email"
    return properties


class SpecConverter(OpenAPIConverter):
    """apispec's converter: answers list every field as required, and a schema's
    `OPENAPI` attribute is merged in (see the module docstring)."""

    def schema2jsonschema(self, schema) -> dict:
        jsonschema = super().schema2jsonschema(schema)
        schema_fields = get_fields(schema)
        if schema_fields and all(field.dump_only for field in schema_fields.values()):
            jsonschema["required"] = sorted(
                field.data_key or name for name, field in schema_fields.items()
            )
        jsonschema.update(deepcopy(getattr(schema, "OPENAPI", {})))
        return jsonschema


class SpecPlugin(MarshmallowPlugin):
    """apispec's marshmallow plugin with the additions of this module."""

    Converter = SpecConverter

    def init_spec(self, spec) -> None:
        super().init_spec(spec)
        self.converter.add_attribute_function(text_properties)
        for name, description, headers in ERRORS.values():
            response = {
                "description": description,
                "content": {"application/json": {"schema": ERROR_SCHEMA}},
            }
            if headers:
                response["headers"] = headers
            spec.components.response(name, response, lazy=True)

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        super().operation_helper(path=path, operations=operations, **kwargs)
        for operation in (operations or {}).values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status in error_statuses(path or "", operation):
                # A route's own description stays; a bare reference (smorest's
                # UNPROCESSABLE_ENTITY) gives way to ours.
                if not isinstance(responses.get(str(status)), dict):
                    responses[str(status)] = ERRORS[status][0]
            for status, response in responses.items():
                # An error documented by its description only: give it the error shape.
                if str(status)[0] in "45" and isinstance(response, dict):
                    response.setdefault("content", {"application/json": {"schema": ERROR_SCHEMA}})


class ErrorSchema(ma.Schema):
    """The one error shape, as the document shows it (never used to dump)."""

    code = fields.Integer(required=True, metadata={"description": "The HTTP status code"})
    status = fields.String(required=True, metadata={"description": "The status's name"})
    message = fields.String(required=True, metadata={"description": "What went wrong, a sentence"})
    errors = fields.Dict(
        metadata={"description": "422: the messages per location (json, query, headers) and field"}
    )


class Api(ErrorShapeApi):
    """The Notification API's Api: the shared error handling, and a document built
    with `SpecPlugin` whose error schema says which fields are always there."""

    ERROR_SCHEMA = ErrorSchema

    def __init__(self, app=None, *, spec_kwargs=None, **kwargs) -> None:
        spec_kwargs = {"marshmallow_plugin": SpecPlugin(), **(spec_kwargs or {})}
        super().__init__(app, spec_kwargs=spec_kwargs, **kwargs)
