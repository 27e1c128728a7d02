"""Request and response bodies of the users feature."""

from marshmallow import fields, validate

from notifier.schemas import BaseSchema, Text, UTCDateTime

PASSWORD_LENGTH = validate.Length(min=8, max=128)


class UserCreateSchema(BaseSchema):
    name = Text(required=True, trim=True, validate=validate.Length(min=1, max=100))
    email = Text(required=True, trim=True, validate=validate.Length(min=3, max=320))
    password = fields.String(required=True, load_only=True, validate=PASSWORD_LENGTH)


class UserSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    email = fields.String(dump_only=True)
    created_at = UTCDateTime(dump_only=True)
    updated_at = UTCDateTime(dump_only=True)
