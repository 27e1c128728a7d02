"""`NotifierError`: the one exception the client raises."""

from __future__ import annotations

from typing import Any

import requests


class NotifierError(Exception):
    """The API answered an error, could not be reached, or a webhook did not verify.

    `status` is the HTTP status (None when there was no answer: a connection error, a
    timeout, a webhook that does not verify); `message` the service's sentence;
    `errors` the body's `errors` (validation errors by location and field, e.g.
    `{"json": {"target": ["..."]}}`), or None.
    """

    def __init__(
        self,
        message: str,
        status: int | None = None,
        errors: dict[str, Any] | None = None,
        response: requests.Response | None = None,
    ) -> None:
        super().__init__(f"{status} {message}" if status is not None else message)
        self.status = status
        self.message = message
        self.errors = errors
        self.response = response

    @classmethod
    def from_response(cls, response: requests.Response) -> NotifierError:
        """The error an answer of 400 or more stands for (any body, JSON or not)."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            errors = body.get("errors")
            return cls(
                body["message"],
                response.status_code,
                errors if isinstance(errors, dict) else None,
                response,
            )
        text = response.text.strip()[:200] or response.reason or "error"
        return cls(text, response.status_code, None, response)
