"""Request and response bodies of the users feature."""

from marshmallow import fields, validate

from notifier.auth.schemas import Password
from notifier.emails import MAX_LENGTH, AccountEmail
from notifier.schemas import BaseSchema, Text, UTCDateTime


class UserCreateSchema(BaseSchema):
    """Every field is checked here, the email's syntax included, so that one 422
    names every invalid field of the body at once."""

    name = Text(required=True, trim=True, validate=validate.Length(min=1, max=100))
    email = AccountEmail(required=True, validate=validate.Length(min=3, max=MAX_LENGTH))
    password = Password(required=True, validate=validate.Length(min=8, max=128))


class UserSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    email = fields.String(dump_only=True)
    created_at = UTCDateTime(dump_only=True)
    updated_at = UTCDateTime(dump_only=True)
