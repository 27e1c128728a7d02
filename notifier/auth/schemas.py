"""Request and response bodies of the auth feature."""

from marshmallow import fields, validate

from notifier.schemas import BaseSchema, Text


class LoginSchema(BaseSchema):
    email = Text(required=True, validate=validate.Length(min=1, max=320))
    password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=1, max=128)
    )


class TokensSchema(BaseSchema):
    access_token = fields.String(dump_only=True)
    refresh_token = fields.String(dump_only=True)
    token_type = fields.String(dump_only=True)
    expires_in = fields.Integer(dump_only=True, metadata={"description": "Seconds"})


class AccessTokenSchema(BaseSchema):
    access_token = fields.String(dump_only=True)
    token_type = fields.String(dump_only=True)
    expires_in = fields.Integer(dump_only=True, metadata={"description": "Seconds"})
