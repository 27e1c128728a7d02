"""Request and response bodies of the batches feature.

A recipient's fields are the single send's own (`target`, `personalisation`,
`reference` of `NotificationSendSchema`): one rule each, wherever it is sent
from. The list of recipients is checked as a whole here (a list, 1-50 000
items); each item is checked by `notifier.batches.recipients`, one at a time,
so that 50 000 items never build 50 000 error dictionaries.
"""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from notifier import channels
from notifier.notifications.lifecycle import STATUSES, BatchStatus
from notifier.notifications.schemas import MAX_ID, NotificationSendSchema
from notifier.schemas import BaseSchema, StrictBoolean, Text, UTCDateTime

MAX_RECIPIENTS = 50_000
NAME = {"trim": True, "validate": validate.Length(min=1, max=100)}
# The single send's fields, the one definition of each rule.
SEND_FIELDS = NotificationSendSchema().fields
BATCH_STATUSES = tuple(status.value for status in BatchStatus)


class RecipientSchema(BaseSchema):
    """One recipient (documented here; each is checked with the single send's fields)."""

    target = SEND_FIELDS["target"]
    personalisation = SEND_FIELDS["personalisation"]
    reference = SEND_FIELDS["reference"]


class Recipients(fields.List):
    """A list of 1-50 000 recipients: only its length is checked when the body is
    loaded; the items are checked one by one by the service (see module doc)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(
            fields.Nested(RecipientSchema),
            validate=validate.Length(min=1, max=MAX_RECIPIENTS),
            **kwargs,
        )

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list):
            raise self.make_error("invalid")
        return value


class BatchCreateSchema(BaseSchema):
    OPENAPI = {
        "oneOf": [
            {"required": ["recipients"], "not": {"required": ["csv"]}},
            {"required": ["csv"], "not": {"required": ["recipients"]}},
        ]
    }

    template_id = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": "The template every recipient is sent"},
    )
    template_version = fields.Integer(
        strict=True,
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "Default: the template's current version"},
    )
    name = Text(**NAME, metadata={"description": "Default: the template's name"})
    scheduled_at = UTCDateTime(
        allow_none=True,
        metadata={"description": "Not delivered before this time; null or past: now"},
    )
    unsubscribe = StrictBoolean(
        load_default=True,
        metadata={"description": "Email: offer one-click unsubscribe (default true)"},
    )
    recipients = Recipients(
        metadata={"description": f"1 to {MAX_RECIPIENTS} recipients; or give `csv`"}
    )
    csv = Text(
        multiline=True,
        validate=validate.Length(min=1),
        metadata={
            "description": "The recipients as CSV: a header line with a `target` column, "
            "an optional `reference` column, every other column a personalisation "
            f"value; 1 to {MAX_RECIPIENTS} rows. Or give `recipients`"
        },
    )

    @validates_schema(pass_original=True)
    def _exactly_one_list(self, data: dict, original, **kwargs) -> None:
        given = [name for name in ("recipients", "csv") if name in data]
        if len(given) == 1:
            return
        message = (
            "Give `recipients` or `csv`, not both." if given else "Give `recipients` or `csv`."
        )
        raise ValidationError({name: [message] for name in ("recipients", "csv")})


# How many of the batch's notifications are in each status: one field per status.
BatchCountsSchema = BaseSchema.from_dict(
    {status.value: fields.Integer(dump_only=True) for status in STATUSES},
    name="BatchCountsSchema",
)


class BatchSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    template_id = fields.Integer(dump_only=True)
    template_version = fields.Integer(dump_only=True)
    channel = fields.String(dump_only=True, validate=validate.OneOf(channels.CHANNELS))
    sandbox = fields.Boolean(
        dump_only=True, metadata={"description": "Made with a test key: simulated delivery only"}
    )
    total = fields.Integer(dump_only=True, metadata={"description": "Its notifications"})
    counts = fields.Nested(BatchCountsSchema, dump_only=True)
    status = fields.String(
        dump_only=True,
        validate=validate.OneOf(BATCH_STATUSES),
        metadata={
            "description": "pending: none claimed yet; in_progress; done: nothing pending "
            "or sending; cancelled"
        },
    )
    scheduled_at = UTCDateTime(dump_only=True, allow_none=True)
    created_at = UTCDateTime(dump_only=True)
    finished_at = UTCDateTime(
        dump_only=True,
        allow_none=True,
        metadata={"description": "When the last of its notifications finished, or null"},
    )
