"""Request and response bodies of the webhooks feature, and the URL rules."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app
from marshmallow import ValidationError, fields, validate

from notifier.schemas import BaseSchema, QuerySchema, StrictBoolean, Text, UTCDateTime
from notifier.webhooks import ssrf
from notifier.webhooks.models import DELIVERY_STATUSES, EVENT_TYPES, TEST_EVENT

MAX_URL_CHARS = 2048


def parse_url(url: str, allow_http: bool) -> tuple[str, str, int]:
    """(scheme, host, port) of a webhook URL, or ValueError saying what is wrong.

    Shared by registration and the sender, so both read a URL the same way.
    """
    if any(char.isspace() or not char.isprintable() for char in url):
        raise ValueError("The URL must not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValueError("Not a valid URL.") from None
    allowed = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in allowed:
        raise ValueError("The URL must start with https://.")
    if not parts.hostname:
        raise ValueError("The URL has no host.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValueError("The URL must not contain a user name or password.")
    host = parts.hostname
    if ssrf.literal_address(host) is None:
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError("The URL's host name is not valid.") from None
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)


def _check_url(url: str) -> None:
    """Refuse a URL the sender would refuse. When a development setting would allow
    it (`http://`, a loopback or private host), the message names that setting, so a
    receiver on a laptop is one setting away, not a search."""
    if len(url) > MAX_URL_CHARS:
        return  # the length rule says it; no resolving of a 10 KB host name
    config = current_app.config
    try:
        scheme, host, port = parse_url(url, allow_http=True)
    except ValueError as error:
        raise ValidationError(str(error)) from None
    refusals, settings = [], []
    if scheme == "http" and not config["WEBHOOK_ALLOW_HTTP"]:
        refusals.append("The URL must start with https://")
        settings.append("WEBHOOK_ALLOW_HTTP=1")
    if not config["WEBHOOK_ALLOW_PRIVATE_NETWORKS"]:
        try:
            ssrf.check_url_host(host, port)
        except ssrf.AddressRefused as error:
            refusals.append(str(error).rstrip("."))
            settings.append("WEBHOOK_ALLOW_PRIVATE_NETWORKS=1")
    if refusals:
        raise ValidationError(
            f"{'; '.join(refusals)}. For a receiver in local development, run the API and "
            f"the worker with {' and '.join(settings)}."
        )


# The URL's text rules for the OpenAPI document: https://, a host name (no user,
# no password), a port, a path and a query of printable ASCII. The API also
# takes other forms urlsplit reads (IP literals, IDN hosts), and checks at
# registration that the host resolves to a public address, which no pattern can say.
_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_URL_CHARS = "A-Za-z0-9._~!$&'()*+,;=:@%/-"
URL_PATTERN = (
    f"^https://(?:{_LABEL}\\.){{0,2}}[A-Za-z](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?"
    f"(?::[1-9][0-9]{{0,3}})?(?:/[{_URL_CHARS}]*)?(?:\\?[{_URL_CHARS}?]*)?$"
)
URL = {
    "validate": [validate.Length(min=1, max=MAX_URL_CHARS), _check_url],
    "metadata": {
        "description": "https:// (a public address), at most 2048 characters",
        "pattern": URL_PATTERN,
    },
}
EVENTS = {
    "validate": validate.Length(min=1, error="Choose at least one event."),
    "metadata": {"description": "Default: every event type"},
}
DESCRIPTION = {"allow_none": True, "validate": validate.Length(max=200)}


def _events_field(**kwargs) -> fields.List:
    return fields.List(fields.String(validate=validate.OneOf(EVENT_TYPES)), **EVENTS, **kwargs)


class WebhookCreateSchema(BaseSchema):
    url = Text(required=True, trim=True, **URL)
    events = _events_field()
    description = Text(**DESCRIPTION)


class WebhookPatchSchema(BaseSchema):
    url = Text(trim=True, **URL)
    events = _events_field()
    description = Text(**DESCRIPTION)
    enabled = StrictBoolean()


class WebhookSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    url = fields.String(dump_only=True)
    events = fields.List(fields.String(validate=validate.OneOf(EVENT_TYPES)), dump_only=True)
    description = fields.String(dump_only=True, allow_none=True)
    enabled = fields.Boolean(dump_only=True)
    created_at = UTCDateTime(dump_only=True)
    updated_at = UTCDateTime(dump_only=True)


class WebhookWithSecretSchema(WebhookSchema):
    secret = fields.String(
        dump_only=True,
        metadata={"description": "whsec_ + base64 of 32 bytes; shown only in this answer"},
    )


class DeliveryQuerySchema(QuerySchema):
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))


class DeliverySchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    event_id = fields.String(dump_only=True)
    event_type = fields.String(dump_only=True, validate=validate.OneOf([*EVENT_TYPES, TEST_EVENT]))
    notification_id = fields.Integer(dump_only=True, allow_none=True)
    status = fields.String(dump_only=True, validate=validate.OneOf(DELIVERY_STATUSES))
    attempts = fields.Integer(dump_only=True)
    http_status = fields.Integer(dump_only=True, allow_none=True)
    error = fields.String(dump_only=True, allow_none=True)
    created_at = UTCDateTime(dump_only=True)
    next_attempt_at = UTCDateTime(dump_only=True)
    delivered_at = UTCDateTime(dump_only=True, allow_none=True)
    duration_ms = fields.Integer(dump_only=True, allow_none=True)
