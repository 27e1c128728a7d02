"""Request and response bodies of the templates feature.

A template's `title` and `content` are the notification's own fields (the same
field objects, so the same rules: length, one line, characters), plus the
placeholder syntax of `notifier.templates.rendering`.
"""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates

from notifier import channels
from notifier.notifications.schemas import NotificationCreateSchema, NotificationPatchSchema
from notifier.schemas import BaseSchema, QuerySchema, Text, UTCDateTime
from notifier.templates import rendering

SYNTAX_HELP = (
    "Placeholders are written `{{ name }}`: a name of 1 to 64 characters from "
    "`A-Z a-z 0-9 _`, not starting with a digit; spaces inside the braces are "
    "ignored. Any other use of `{{ }}`, and any `{%` or `{#`, is refused. "
    "`{{ unsubscribe_url }}` is reserved: the service fills it with the "
    "notification's unsubscribe link (an empty string when it has none). "
    "Rendering puts each value in place of its name: a string as is, "
    "a number in its JSON form, nothing escaped."
)


NAME = {
    "trim": True,
    "validate": validate.Length(min=1, max=100),
    "metadata": {"description": "1-100 characters; names need not be unique"},
}
_CREATE_FIELDS = NotificationCreateSchema._declared_fields
_PATCH_FIELDS = NotificationPatchSchema._declared_fields


class _Syntax:
    """`title` and `content` must parse as templates (422 naming the field)."""

    @validates("title", "content")
    def _placeholders(self, value: str, data_key: str) -> None:
        try:
            rendering.parse(value)
        except rendering.TemplateSyntaxError as error:
            raise ValidationError(str(error)) from None


class TemplateCreateSchema(_Syntax, BaseSchema):
    name = Text(required=True, **NAME)
    channel = fields.String(required=True, validate=validate.OneOf(channels.CHANNELS))
    title = _CREATE_FIELDS["title"]
    content = _CREATE_FIELDS["content"]

    class Meta:
        description = SYNTAX_HELP


class TemplatePutSchema(_Syntax, BaseSchema):
    """Every field but `channel`, which may be sent only with its current value."""

    name = Text(required=True, **NAME)
    channel = fields.String(
        validate=validate.OneOf(channels.CHANNELS),
        metadata={"description": "Fixed at creation: optional, and only the current value"},
    )
    title = _CREATE_FIELDS["title"]
    content = _CREATE_FIELDS["content"]

    class Meta:
        description = SYNTAX_HELP


class TemplatePatchSchema(_Syntax, BaseSchema):
    name = Text(**NAME)
    channel = fields.String(
        validate=validate.OneOf(channels.CHANNELS),
        metadata={"description": "Fixed at creation: optional, and only the current value"},
    )
    title = _PATCH_FIELDS["title"]
    content = _PATCH_FIELDS["content"]

    class Meta:
        description = SYNTAX_HELP


class TemplateQuerySchema(QuerySchema):
    channel = fields.String(validate=validate.OneOf(channels.CHANNELS))


class TemplateSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    channel = fields.String(dump_only=True, validate=validate.OneOf(channels.CHANNELS))
    title = fields.String(dump_only=True)
    content = fields.String(dump_only=True)
    version = fields.Integer(
        dump_only=True,
        metadata={"description": "Starts at 1; +1 each time title or content changes"},
    )
    placeholders = fields.List(
        fields.String(),
        dump_only=True,
        metadata={"description": "The distinct names used in title and content, sorted"},
    )
    created_at = UTCDateTime(dump_only=True)
    updated_at = UTCDateTime(dump_only=True)

    class Meta:
        description = SYNTAX_HELP


class TemplateVersionSchema(BaseSchema):
    version = fields.Integer(dump_only=True)
    title = fields.String(dump_only=True)
    content = fields.String(dump_only=True)
    placeholders = fields.List(fields.String(), dump_only=True)
    created_at = UTCDateTime(dump_only=True)


PERSONALISATION = {
    "metadata": {
        "description": "The value of each placeholder: a string or a number. "
        "Keys no placeholder uses are ignored."
    },
}


class PreviewSchema(BaseSchema):
    personalisation = fields.Dict(load_default=dict, **PERSONALISATION)
    version = fields.Integer(
        strict=True,
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "Default: the current version"},
    )


class PreviewResultSchema(BaseSchema):
    channel = fields.String(dump_only=True, validate=validate.OneOf(channels.CHANNELS))
    version = fields.Integer(dump_only=True)
    title = fields.String(dump_only=True)
    content = fields.String(dump_only=True)
    details = fields.Dict(
        dump_only=True,
        metadata={
            "description": "sms: `encoding` and `segments`; push: `payload_bytes`; email: {}"
        },
    )
