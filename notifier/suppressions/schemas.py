"""Suppression bodies and the list's query."""

from __future__ import annotations

from marshmallow import fields, validate

from notifier.notifications.forms import PER_CHANNEL
from notifier.notifications.schemas import CHANNEL, TARGET
from notifier.schemas import BaseSchema, QuerySchema, Text, UTCDateTime
from notifier.suppressions.models import REASONS, Reason

REASON_VALUES = [reason.value for reason in REASONS]


class SuppressionCreateSchema(BaseSchema):
    OPENAPI = PER_CHANNEL

    channel = fields.String(required=True, **CHANNEL)
    target = Text(required=True, trim=True, **TARGET)
    reason = fields.String(
        validate=validate.OneOf(REASON_VALUES),
        metadata={"description": "Default: manual"},
        load_default=Reason.MANUAL.value,
    )


class SuppressionQuerySchema(QuerySchema):
    channel = fields.String(**CHANNEL)
    target = Text(
        trim=True,
        validate=validate.Length(min=1, max=4096),
        metadata={
            "description": "Only this target, normalised like a notification's; without "
            "channel, on every channel that takes it"
        },
    )


class SuppressionSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    channel = fields.String(dump_only=True, **CHANNEL)
    target = fields.String(dump_only=True)
    reason = fields.String(dump_only=True, validate=validate.OneOf(REASON_VALUES))
    notification_id = fields.Integer(
        dump_only=True,
        allow_none=True,
        metadata={"description": "The notification that caused it; null for manual ones"},
    )
    created_at = UTCDateTime(dump_only=True)
