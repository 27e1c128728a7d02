"""Request and response bodies of the notifications feature."""

from __future__ import annotations

from collections.abc import Mapping

from marshmallow import ValidationError, fields, validate, validates_schema

from notifier import channels
from notifier.notifications.forms import PER_CHANNEL, SEND_FORMS
from notifier.notifications.lifecycle import OUTCOMES, Status
from notifier.schemas import BaseSchema, QuerySchema, StrictBoolean, Text, UTCDateTime
from notifier.suppressions import tokens

# Reused by every schema with a notification's title or content (templates too): `Text`
# refuses control characters in a title and allows only line breaks and tabs in content.
TITLE = {"trim": True, "validate": validate.Length(min=1, max=200)}
CONTENT = {"multiline": True, "validate": validate.Length(min=1, max=5000)}
CHANNEL = {"validate": validate.OneOf(channels.CHANNELS)}
TARGET = {
    "validate": validate.Length(min=1, max=4096),
    "metadata": {
        "description": "email: an address; sms: +country code and number (E.164); "
        "push: a device token (32-4096 of A-Z a-z 0-9 _ : - .)"
    },
}

REFERENCE = {
    "allow_none": True,
    "validate": validate.Length(min=1, max=255),
    "metadata": {"description": "Your own id for it (1-255 characters, not unique); null: none"},
}
MAX_ID = 2**63 - 1
TEMPLATE_ID = {
    "strict": True,
    "validate": validate.Range(min=1, max=MAX_ID),
    "metadata": {"description": "Send this template: channel, title and content come from it"},
}


class NotificationCreateSchema(BaseSchema):
    """All fields of a notification; also the body of PUT."""

    OPENAPI = PER_CHANNEL

    title = Text(required=True, **TITLE)
    content = Text(required=True, **CONTENT)
    channel = fields.String(required=True, **CHANNEL)
    target = Text(required=True, trim=True, **TARGET)
    scheduled_at = UTCDateTime(
        allow_none=True,
        metadata={"description": "Not delivered before this time; null or past: now"},
    )
    reference = Text(**REFERENCE)


class NotificationSendSchema(BaseSchema):
    """The body of POST: a message written out, or a template and its values."""

    OPENAPI = SEND_FORMS

    title = Text(**TITLE)
    content = Text(**CONTENT)
    channel = fields.String(**CHANNEL)
    target = Text(required=True, trim=True, **TARGET)
    scheduled_at = UTCDateTime(
        allow_none=True,
        metadata={"description": "Not delivered before this time; null or past: now"},
    )
    reference = Text(**REFERENCE)
    unsubscribe = StrictBoolean(
        metadata={
            "description": "Add a one-click unsubscribe link (email, when the service has a "
            "public address): unsubscribe_url, {{ unsubscribe_url }} in a template, and the "
            "List-Unsubscribe headers. Default: false"
        }
    )
    template_id = fields.Integer(**TEMPLATE_ID)
    template_version = fields.Integer(
        strict=True,
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "With template_id; default: its current version"},
    )
    # No key or value fields: JSON keys are strings, and the renderer checks the
    # values it uses (unused ones are ignored); per-item fields cost on every send.
    personalisation = fields.Dict(
        metadata={
            "description": "With template_id: the value of each {{ name }} placeholder, "
            "a string or a number; keys no placeholder uses are ignored"
        },
    )

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _message_or_template(self, data: dict, original, **kwargs) -> None:
        """Either `title`, `content` and `channel`, or `template_id`: every field
        at fault is named at once."""
        given = original if isinstance(original, dict) else {}
        errors = {}
        if "template_id" in given:
            for name in ("title", "content", "channel"):
                if name in given:
                    errors[name] = ["Not allowed with template_id: the template gives it."]
        else:
            for name in ("title", "content", "channel"):
                if name not in given:
                    errors[name] = ["Missing data for required field."]
            for name in ("template_version", "personalisation"):
                if name in given:
                    errors[name] = ["Only with template_id."]
        if errors:
            raise ValidationError(errors)


class NotificationPatchSchema(BaseSchema):
    """Any subset of the create body; checked again on the merged result."""

    OPENAPI = PER_CHANNEL

    title = Text(**TITLE)
    content = Text(**CONTENT)
    channel = fields.String(**CHANNEL)
    target = Text(trim=True, **TARGET)
    scheduled_at = UTCDateTime(allow_none=True)
    reference = Text(**REFERENCE)


class IdempotencyHeaderSchema(QuerySchema):
    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        validate=[
            validate.Length(min=1, max=255),
            validate.Regexp(r"^[\x21-\x7e]+$", error="Use printable ASCII characters only."),
        ],
        metadata={"description": "Repeat the request safely: same key, same notification"},
    )


STATUSES = [status.value for status in Status]


class NotificationQuerySchema(QuerySchema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    channel = fields.String(validate=validate.OneOf(channels.CHANNELS))
    sandbox = fields.Boolean(
        truthy={"true"},
        falsy={"false"},
        metadata={"description": "true: only notifications made with a test API key"},
    )
    template_id = fields.Integer(
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": "Only notifications sent from this template"},
    )
    batch_id = fields.Integer(
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": "Only notifications of this batch"},
    )
    reference = Text(
        validate=validate.Length(min=1, max=255),
        metadata={"description": "Only notifications with exactly this reference"},
    )


class NotificationSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    user_id = fields.Integer(dump_only=True)
    title = fields.String(dump_only=True)
    content = fields.String(dump_only=True)
    channel = fields.String(dump_only=True, **CHANNEL)
    target = fields.String(dump_only=True)
    status = fields.String(dump_only=True, validate=validate.OneOf(STATUSES))
    attempts = fields.Integer(dump_only=True)
    scheduled_at = UTCDateTime(dump_only=True, allow_none=True)
    sent_at = UTCDateTime(dump_only=True, allow_none=True)
    delivered_at = UTCDateTime(
        dump_only=True,
        allow_none=True,
        metadata={"description": "When a receipt said it reached the person, or null"},
    )
    error_message = fields.String(dump_only=True, allow_none=True)
    provider_message_id = fields.String(dump_only=True, allow_none=True)
    sandbox = fields.Boolean(
        dump_only=True, metadata={"description": "Made with a test key: simulated delivery only"}
    )
    api_key_id = fields.Integer(
        dump_only=True,
        allow_none=True,
        metadata={"description": "The API key that created it, or null"},
    )
    template_id = fields.Integer(
        dump_only=True,
        allow_none=True,
        metadata={"description": "The template it was sent from, or null"},
    )
    template_version = fields.Integer(
        dump_only=True,
        allow_none=True,
        metadata={"description": "The template's version it was rendered from, or null"},
    )
    batch_id = fields.Integer(
        dump_only=True,
        allow_none=True,
        metadata={"description": "The batch it was sent in, or null"},
    )
    reference = fields.String(
        dump_only=True, allow_none=True, metadata={"description": "Your own id, or null"}
    )
    unsubscribe = fields.Boolean(
        dump_only=True, metadata={"description": "A one-click unsubscribe link was asked for"}
    )
    unsubscribe_url = fields.Method(
        "_unsubscribe_url",
        dump_only=True,
        allow_none=True,
        metadata={
            "type": "string",
            "description": "The one-click unsubscribe link (email, with PUBLIC_BASE_URL set), "
            "or null",
        },
    )
    created_at = UTCDateTime(dump_only=True)
    updated_at = UTCDateTime(dump_only=True)

    def _unsubscribe_url(self, obj) -> str | None:
        """Derived from a row or model; a body built by `notification_body` has it."""
        if isinstance(obj, Mapping):
            if "unsubscribe_url" in obj:
                return obj["unsubscribe_url"]
            values = obj
        else:
            names = ("user_id", "channel", "target", "unsubscribe", "sandbox")
            values = {name: getattr(obj, name) for name in names}
        return tokens.current_link(
            values["user_id"],
            values["channel"],
            values["target"],
            values["unsubscribe"],
            values["sandbox"],
        )


class DeliveryAttemptSchema(BaseSchema):
    number = fields.Integer(dump_only=True)
    started_at = UTCDateTime(dump_only=True)
    finished_at = UTCDateTime(dump_only=True)
    outcome = fields.String(
        dump_only=True, validate=validate.OneOf([outcome.value for outcome in OUTCOMES])
    )
    http_status = fields.Integer(dump_only=True, allow_none=True)
    error = fields.String(dump_only=True, allow_none=True)
    provider_message_id = fields.String(dump_only=True, allow_none=True)
    duration_ms = fields.Integer(dump_only=True)


# Derived from the stored fields when a body is built, not stored.
DERIVED_FIELDS = ("unsubscribe_url",)
BODY_FIELDS = tuple(name for name in NotificationSchema().dump_fields if name not in DERIVED_FIELDS)
_BODY_TIMES = tuple(
    name
    for name, field in NotificationSchema().dump_fields.items()
    if isinstance(field, UTCDateTime)
)


def notification_body(row) -> dict:
    """`NotificationSchema().dump(row)` for a row of the table, without marshmallow.

    The hot routes answer with this: dumping a page through the schema was a
    fifth of a list request's CPU. The schema still documents the body, and a
    test keeps the two equal. Times are read back in UTC (UTCDateTime).
    """
    return _times_as_text({name: row[name] for name in BODY_FIELDS})


def body_from_values(values) -> dict:
    """`notification_body` of the values of BODY_FIELDS, in that order."""
    return _times_as_text(dict(zip(BODY_FIELDS, values, strict=True)))


def _times_as_text(body: dict) -> dict:
    """Times as ISO 8601 text, and the derived fields."""
    body["unsubscribe_url"] = tokens.current_link(
        body["user_id"], body["channel"], body["target"], body["unsubscribe"], body["sandbox"]
    )
    for name in _BODY_TIMES:
        value = body[name]
        if value is not None:
            body[name] = value.isoformat()
    return body
