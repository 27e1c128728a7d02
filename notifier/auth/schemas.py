"""Request and response bodies of the auth feature."""

from marshmallow import fields, validate

from notifier.emails import MAX_LENGTH, AccountEmail
from notifier.schemas import BaseSchema, encodable


class Password(fields.String):
    """A password as given, every character significant (no trimming), which the
    hash must be able to take: a lone surrogate is a 422, not a failed hash."""

    def __init__(self, **kwargs) -> None:
        validators = kwargs.pop("validate", None) or []
        if callable(validators):
            validators = [validators]
        super().__init__(load_only=True, validate=[*validators, encodable], **kwargs)


class LoginSchema(BaseSchema):
    # Loaded as the form the login looks up and counts its attempts under.
    email = AccountEmail(
        required=True, lookup=True, validate=validate.Length(min=1, max=MAX_LENGTH)
    )
    password = Password(required=True, validate=validate.Length(min=1, max=128))


class TokensSchema(BaseSchema):
    access_token = fields.String(dump_only=True)
    refresh_token = fields.String(dump_only=True)
    token_type = fields.String(dump_only=True)
    expires_in = fields.Integer(dump_only=True, metadata={"description": "Seconds"})


class AccessTokenSchema(BaseSchema):
    access_token = fields.String(dump_only=True)
    token_type = fields.String(dump_only=True)
    expires_in = fields.Integer(dump_only=True, metadata={"description": "Seconds"})
