"""The body of a generic receipt."""

from __future__ import annotations

from marshmallow import fields, validate

from notifier.notifications.lifecycle.receipts import RECEIPT_STATUSES
from notifier.schemas import BaseSchema, StrictBoolean, Text


class ReceiptSchema(BaseSchema):
    provider_message_id = Text(
        required=True,
        trim=True,
        validate=validate.Length(min=1, max=255),
        metadata={"description": "The provider_message_id of the notification it is about"},
    )
    status = fields.String(
        required=True, validate=validate.OneOf([status.value for status in RECEIPT_STATUSES])
    )
    reason = Text(
        allow_none=True,
        validate=validate.Length(max=500),
        metadata={"description": "Why it failed, kept in error_message"},
    )
    permanent = StrictBoolean(
        load_default=True,
        metadata={"description": "A failure that will not change: suppress the target"},
    )
