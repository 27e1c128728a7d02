"""The delivery service's error answers: the one shape, plus ``rejected`` on a refusal.

Every error leaves through flask-smorest's handler in the shape ``{code, status,
message[, errors]}`` (:class:`notifier.web.ErrorShapeApi`). A 422 that is not a schema
error also says what was refused, ``rejected``: ``"target"`` (the recipient) or
``"message"``; see :mod:`delivery.providers.refusals`. A schema error (a missing or
mistyped field) has ``errors`` and no ``rejected``.
"""

from __future__ import annotations

from typing import Any

from flask_smorest.error_handler import ErrorSchema
from marshmallow import fields
from werkzeug.exceptions import HTTPException

from delivery.providers.refusals import KINDS
from notifier.web import ErrorShapeApi


class DeliveryApi(ErrorShapeApi):
    """The shared error shape, with ``rejected`` copied when the answer carries one."""

    def handle_http_exception(self, error: HTTPException) -> Any:
        payload, status, headers = super().handle_http_exception(error)
        data = getattr(error, "data", None) or {}
        if data.get("rejected") in KINDS:
            payload["rejected"] = data["rejected"]
        return payload, status, headers


class RejectionSchema(ErrorSchema):
    """A 422: a schema error (``errors``), a broken channel rule or a provider's refusal."""

    rejected = fields.String(
        metadata={
            "enum": list(KINDS),
            "description": "Absent on a schema error. target: the provider refuses the "
            "recipient (do not send to it again); message: anything else (a channel rule, "
            "a body or header the provider will not take).",
        }
    )
