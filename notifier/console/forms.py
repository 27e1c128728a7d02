"""Forms through the API's own marshmallow schemas: one set of rules, messages per field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma
from werkzeug.exceptions import HTTPException

Errors = dict[str, list[str]]


def _flat(messages: Any) -> Errors:
    """marshmallow's (or a service's) errors as {field: [sentences]}."""
    if isinstance(messages, dict) and set(messages) <= {"json", "query", "form"}:
        merged: dict = {}
        for part in messages.values():
            merged.update(part)
        messages = merged
    if not isinstance(messages, dict):
        return {"_schema": [str(messages)]}
    flat: Errors = {}
    for name, value in messages.items():
        key = "_schema" if name == "_schema" else str(name)
        if isinstance(value, dict):
            value = [text for texts in _flat(value).values() for text in texts]
        flat[key] = [str(text) for text in (value if isinstance(value, list) else [value])]
    return flat


def load(schema: ma.Schema, data: dict) -> tuple[dict | None, Errors]:
    """The schema's answer for the form's values, or its messages by field."""
    try:
        return schema.load(data), {}
    except ma.ValidationError as error:
        return None, _flat(error.messages)


def service_errors(error: HTTPException) -> Errors:
    """A service's 422 (or 409) as messages by field, the message itself when none."""
    data = getattr(error, "data", None) or {}
    errors = data.get("errors")
    if errors:
        return _flat(errors)
    return {"_schema": [data.get("message") or error.description or "Refused."]}


def submit(schema: ma.Schema, given: dict, action: Callable[[dict], Any]) -> tuple[Any, Errors]:
    """A submitted form through the API's schema, then through `action` (a service call).

    `(action's answer, {})`, or `(None, messages by field)`: the schema's, or the
    service's when it refuses with 422. Any other refusal (401, 404...) is not the
    form's to show: it goes on to the console's error handler.
    """
    data, errors = load(schema, given)
    if data is None:
        return None, errors
    try:
        return action(data), {}
    except HTTPException as error:
        if error.code != 422:
            raise
        return None, service_errors(error)


def form_values(form, names: tuple[str, ...]) -> dict[str, str]:
    """The named, non-empty fields of a submitted form (an empty field is absent).

    Browsers send a textarea's line breaks as CRLF; they are stored as typed (LF).
    """
    return {name: form[name].replace("\r\n", "\n") for name in names if form.get(name, "") != ""}
