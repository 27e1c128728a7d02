"""The schema pieces every feature of the Notification API shares.

`BaseSchema`, `StrictBoolean` and `Text` come from `notifier.web` (the delivery
service uses the same ones); the query-string schema and the timestamp field are the API's own.
"""

from __future__ import annotations

from datetime import UTC, datetime

import marshmallow as ma
from marshmallow import ValidationError, fields

from notifier.web import BaseSchema, StrictBoolean, Text

__all__ = ["BaseSchema", "QuerySchema", "StrictBoolean", "Text", "UTCDateTime", "encodable"]


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
        try:
            return parsed.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
            raise self.make_error("invalid", input=value, obj_type="datetime") from None

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None or isinstance(value, str):
            # None, or a body dumped before (an idempotent replay): as it is.
            return value
        return value.astimezone(UTC).isoformat()


def encodable(value: str) -> None:
    """Refuse a lone UTF-16 surrogate (JSON's "\\ud800" decodes to one) in a field
    that is not `Text` (a password): no hash can take it, it has no UTF-8 encoding."""
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            raise ValidationError("Contains characters that are not valid Unicode.") from None
