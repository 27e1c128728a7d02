"""The delivery service's request and answer bodies: what a valid message is.

``POST /deliver`` loads a :class:`DeliveryRequestSchema` (channel, target and
content, with the caller's optional id and idempotency key); the answers are
described by the other schemas here for the OpenAPI document.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from marshmallow import ValidationError, fields, validate, validates_schema

from delivery.providers.smtp_message import MAX_UNSUBSCRIBE_URL_CHARS
from notifier.channels import CHANNELS, EMAIL
from notifier.web import BaseSchema, StrictBoolean, Text

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class StringOrInteger(fields.Field):
    """The caller's notification id: a string of 1 to 255 characters or a 64-bit integer."""

    default_error_messages = {
        "invalid": "Must be a string or an integer.",
        "length": "Must be 1 to 255 characters long.",
        "range": "Must be a 64-bit integer.",
        "invalid_unicode": "Not valid Unicode text.",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | int:
        if isinstance(value, bool):  # bool is an int in Python, not in JSON
            raise self.make_error("invalid")
        if isinstance(value, int):
            if not _INT64_MIN <= value <= _INT64_MAX:
                raise self.make_error("range")
            return value
        if isinstance(value, str):
            if not 1 <= len(value) <= 255:
                raise self.make_error("length")
            if any("\ud800" <= char <= "\udfff" for char in value):
                raise self.make_error("invalid_unicode")
            return value
        raise self.make_error("invalid")


def _https_url(value: str) -> None:
    """An absolute https URL with a host, in ASCII without spaces (fit for a mail header)."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (a port that is not a number raises here)
    except ValueError:
        parts = None
    if parts is None or parts.scheme != "https" or not parts.hostname:
        raise ValidationError("Must be an absolute https:// URL.")
    if not value.isascii() or " " in value:
        raise ValidationError("Must be ASCII without spaces (percent-encode the rest).")


class DeliveryRequestSchema(BaseSchema):
    """One message to deliver."""

    notification_id = StringOrInteger(
        load_default=None,
        allow_none=True,
        metadata={
            "oneOf": [{"type": "string", "minLength": 1, "maxLength": 255}, {"type": "integer"}],
            "description": "The caller's id for the message (logging only).",
        },
    )
    idempotency_key = Text(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=255),
        metadata={"description": "The same key again answers the first result."},
    )
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    target = Text(
        required=True,
        validate=validate.Length(min=1),
        metadata={"description": "Email address, E.164 phone number or device token."},
    )
    # Title and content are type-checked here; what they may hold is a channel rule
    # (`delivery.rules`), whose 422 says `rejected: "message"`.
    title = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "Email subject (none when empty); push title; unused by sms."},
    )
    content = fields.String(required=True, validate=validate.Length(min=1))
    sandbox = StrictBoolean(
        load_default=False,
        metadata={"description": "Answered by the simulator, whatever provider is configured."},
    )
    list_unsubscribe = Text(
        load_default=None,
        allow_none=True,
        validate=[
            validate.Length(min=1),
            # Every provider refuses what the SMTP one could not send: one header line.
            validate.Length(
                max=MAX_UNSUBSCRIBE_URL_CHARS,
                error="At most {max} characters: List-Unsubscribe must fit on one mail "
                "header line (998 characters), and a URL cannot be folded.",
            ),
            _https_url,
        ],
        metadata={
            "format": "uri",
            "pattern": "^https://",
            "description": "Email only: the one-click unsubscribe URL (https). It becomes the "
            "List-Unsubscribe and List-Unsubscribe-Post headers (RFC 8058); the simulator "
            "echoes it in details.list_unsubscribe.",
        },
    )

    @validates_schema
    def _email_only(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("list_unsubscribe") and data.get("channel") != EMAIL:
            raise ValidationError(
                "Only an email can carry a one-click unsubscribe URL.", "list_unsubscribe"
            )


class DeliveryResultSchema(BaseSchema):
    """The provider accepted the message."""

    status = fields.String(metadata={"enum": ["sent"]})
    provider_message_id = fields.String()
    sent_at = fields.String(metadata={"format": "date-time"})
    details = fields.Dict(
        metadata={
            "description": "provider (simulator, smtp, twilio or fcm); email: bytes; "
            "sms: encoding (GSM-7 or UCS-2) and segments; push: payload_bytes."
        }
    )


class HealthSchema(BaseSchema):
    """Liveness."""

    status = fields.String(metadata={"enum": ["ok"]})


class StatsSchema(BaseSchema):
    """Counters of the delivery service since start or the last reset."""

    sent = fields.Integer()
    replays = fields.Integer()
    requests = fields.Integer()
