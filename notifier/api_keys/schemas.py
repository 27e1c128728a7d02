"""Request and response bodies of the API keys feature."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate

from notifier.api_keys.models import MODES, SCOPES
from notifier.database import utcnow
from notifier.schemas import BaseSchema, Text, UTCDateTime


def _in_the_future(value) -> None:
    if value <= utcnow():
        raise ValidationError("The expiry must be in the future.")


class ApiKeyCreateSchema(BaseSchema):
    name = Text(
        required=True,
        trim=True,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "Which server or integration uses it (1-100 characters)"},
    )
    scopes = fields.List(
        fields.String(validate=validate.OneOf(SCOPES)),
        validate=validate.Length(min=1, error="Choose at least one scope."),
        metadata={
            "description": "Default: the notifications:send, :read and :write scopes; "
            "templates:read (read and preview templates) is opt-in"
        },
    )
    mode = fields.String(
        load_default="live",
        validate=validate.OneOf(MODES),
        metadata={"description": "test: notifications are sandboxed (simulated delivery only)"},
    )
    expires_at = UTCDateTime(
        allow_none=True,
        validate=_in_the_future,
        metadata={"description": "Refused after this time; null or absent: never expires"},
    )


class ApiKeySchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    prefix = fields.String(
        dump_only=True, metadata={"description": "The key's first 16 characters: tell keys apart"}
    )
    mode = fields.String(dump_only=True, validate=validate.OneOf(MODES))
    scopes = fields.List(fields.String(validate=validate.OneOf(SCOPES)), dump_only=True)
    created_at = UTCDateTime(dump_only=True)
    expires_at = UTCDateTime(dump_only=True, allow_none=True)
    last_used_at = UTCDateTime(
        dump_only=True,
        allow_none=True,
        metadata={"description": "Updated at most once a minute; null: never used"},
    )


class ApiKeyWithSecretSchema(ApiKeySchema):
    key = fields.String(
        dump_only=True,
        metadata={"description": "The key itself: shown in this answer only; store it now"},
    )
