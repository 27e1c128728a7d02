"""Base schema and the fields every feature shares."""

from __future__ import annotations

from datetime import UTC, datetime

import marshmallow as ma
from marshmallow import ValidationError, fields


class BaseSchema(ma.Schema):
    """Unknown fields are an error (422), not silently dropped."""

    class Meta:
        unknown = ma.RAISE


class QuerySchema(ma.Schema):
    """Query strings also carry pagination parameters, parsed by another schema."""

    class Meta:
        unknown = ma.EXCLUDE


class UTCDateTime(fields.DateTime):
    """ISO 8601 with an explicit offset in and out; naive input is refused."""

    default_error_messages = {
        "naive": "Give the time with an explicit UTC offset, e.g. 2026-11-24T10:15:00+00:00.",
    }

    def __init__(self, **kwargs) -> None:
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        if isinstance(value, str) and "\x00" in value:
            raise self.make_error("invalid", input=value, obj_type="datetime")
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise self.make_error("naive")
        return parsed.astimezone(UTC)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None or isinstance(value, str):
            # None, or a body dumped before (an idempotent replay): as it is.
            return value
        return value.astimezone(UTC).isoformat()


def _reject_nul(value: str) -> None:
    if "\x00" in value:
        raise ValidationError("NUL characters are not allowed.")


def encodable(value: str) -> None:
    """Refuse a lone UTF-16 surrogate (JSON's "\\ud800" decodes to one): no database
    can store it and no hash can take it, since it has no UTF-8 encoding."""
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            raise ValidationError("Contains characters that are not valid Unicode.") from None


class Text(fields.String):
    """A string that refuses NUL characters (PostgreSQL cannot store them)."""

    def __init__(self, *, trim: bool = False, **kwargs) -> None:
        validators = kwargs.pop("validate", None) or []
        if callable(validators):
            validators = [validators]
        super().__init__(validate=[_reject_nul, *validators], **kwargs)
        self.trim = trim

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        return text.strip() if self.trim else text
