"""Delivery service routes: ``POST /deliver``, ``GET /health`` and the test-only ``/stats``.

``POST /deliver`` answers 200 (sent), 422 (a rule is broken or the provider
refuses the message; ``rejected`` is ``target`` or ``message``, see
:mod:`delivery.providers.refusals`) or 503 (unavailable, with ``Retry-After``); see
:mod:`delivery.providers.simulator` for the hooks and :mod:`delivery.idempotency` for
repeats. A replayed answer carries ``Idempotent-Replayed: true``.

Every route but ``/health`` (and ``/metrics``) needs the service's token: see
:mod:`delivery.auth`.

Test-only endpoints, for integration tests of the dispatcher that need to count
what reached the "provider". Not harmless with real providers: a reset forgets which
keys were sent, so a repeat would be sent again; hence the token on them too.

- ``GET /stats`` → 200 ``{"sent": S, "replays": R, "requests": N}``: ``sent`` counts
  the 200 answers that were not replays (one per distinct idempotency key that
  got a 200, plus every 200 to a request without a key), ``replays`` the requests
  answered from the idempotency store (sent or rejected again), ``requests``
  every ``POST /deliver``, valid or not.
- ``POST /stats/reset`` → 200 with the zeroed counters; it also forgets every
  remembered idempotency key.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from flask import Response, current_app, g, request
from flask.views import MethodView
from flask_smorest import abort
from flask_smorest.error_handler import ErrorSchema
from marshmallow import ValidationError, fields, validate, validates_schema

from delivery.auth import caller_refused
from delivery.errors import RejectionSchema
from delivery.idempotency import IdempotencyStore, StoreUnavailable
from delivery.providers import gateway
from delivery.providers.simulator import apply_latency
from delivery.providers.smtp_message import MAX_UNSUBSCRIBE_URL_CHARS
from notifier.channels import CHANNELS, EMAIL
from notifier.observability.metrics import delivery_outcome, record_delivery_request
from notifier.web import BaseSchema, Blueprint, Text

STORE_EXTENSION = "delivery_idempotency"

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

_REJECTED_DOC = (
    "A schema error (errors, no rejected), a broken channel rule (errors and "
    'rejected: "message") or the provider\'s refusal (rejected: "target" or "message", '
    "no errors). Not retryable."
)
_UNAVAILABLE_DOC = "The provider is unavailable: retry after `Retry-After` seconds."

blp = Blueprint(
    "delivery",
    __name__,
    description="Simulated email, SMS and push providers.",
)


def idempotency_store() -> IdempotencyStore:
    """The current app's idempotency store (one per app, made by the factory)."""
    return current_app.extensions[STORE_EXTENSION]


# --- schemas ---------------------------------------------------------------------------


class StringOrInteger(fields.Field):
    """The caller's notification id: a string of 1 to 255 characters or a 64-bit integer."""

    default_error_messages = {
        "invalid": "Must be a string or an integer.",
        "length": "Must be 1 to 255 characters long.",
        "range": "Must be a 64-bit integer.",
        "invalid_unicode": "Not valid Unicode text.",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | int:
        if isinstance(value, bool):  # bool is an int in Python, not in JSON
            raise self.make_error("invalid")
        if isinstance(value, int):
            if not _INT64_MIN <= value <= _INT64_MAX:
                raise self.make_error("range")
            return value
        if isinstance(value, str):
            if not 1 <= len(value) <= 255:
                raise self.make_error("length")
            if any("\ud800" <= char <= "\udfff" for char in value):
                raise self.make_error("invalid_unicode")
            return value
        raise self.make_error("invalid")


class StrictBoolean(fields.Boolean):
    """JSON ``true`` or ``false`` only (marshmallow also takes ``"yes"``, ``1``...)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def _https_url(value: str) -> None:
    """An absolute https URL with a host, in ASCII without spaces (fit for a mail header)."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (a port that is not a number raises here)
    except ValueError:
        parts = None
    if parts is None or parts.scheme != "https" or not parts.hostname:
        raise ValidationError("Must be an absolute https:// URL.")
    if not value.isascii() or " " in value:
        raise ValidationError("Must be ASCII without spaces (percent-encode the rest).")


class DeliveryRequestSchema(BaseSchema):
    """One message to deliver."""

    notification_id = StringOrInteger(
        load_default=None,
        allow_none=True,
        metadata={
            "oneOf": [{"type": "string", "minLength": 1, "maxLength": 255}, {"type": "integer"}],
            "description": "The caller's id for the message (logging only).",
        },
    )
    idempotency_key = Text(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=255),
        metadata={"description": "The same key again answers the first result."},
    )
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    target = Text(
        required=True,
        validate=validate.Length(min=1),
        metadata={"description": "Email address, E.164 phone number or device token."},
    )
    title = Text(
        load_default=None,
        allow_none=True,
        metadata={"description": "Email subject (none when empty); push title; unused by sms."},
    )
    content = Text(required=True, multiline=True, validate=validate.Length(min=1))
    sandbox = StrictBoolean(
        load_default=False,
        metadata={"description": "Answered by the simulator, whatever provider is configured."},
    )
    list_unsubscribe = Text(
        load_default=None,
        allow_none=True,
        validate=[
            validate.Length(min=1),
            # Every provider refuses what the SMTP one could not send: one header line.
            validate.Length(
                max=MAX_UNSUBSCRIBE_URL_CHARS,
                error="At most {max} characters: List-Unsubscribe must fit on one mail "
                "header line (998 characters), and a URL cannot be folded.",
            ),
            _https_url,
        ],
        metadata={
            "format": "uri",
            "pattern": "^https://",
            "description": "Email only: the one-click unsubscribe URL (https). It becomes the "
            "List-Unsubscribe and List-Unsubscribe-Post headers (RFC 8058); the simulator "
            "echoes it in details.list_unsubscribe.",
        },
    )

    @validates_schema
    def _email_only(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("list_unsubscribe") and data.get("channel") != EMAIL:
            raise ValidationError(
                "Only an email can carry a one-click unsubscribe URL.", "list_unsubscribe"
            )


class DeliveryResultSchema(BaseSchema):
    """The provider accepted the message."""

    status = fields.String(metadata={"enum": ["sent"]})
    provider_message_id = fields.String()
    sent_at = fields.String(metadata={"format": "date-time"})
    details = fields.Dict(
        metadata={
            "description": "provider (simulator, smtp, twilio or fcm); email: bytes; "
            "sms: encoding (GSM-7 or UCS-2) and segments; push: payload_bytes."
        }
    )


class HealthSchema(BaseSchema):
    """Liveness."""

    status = fields.String(metadata={"enum": ["ok"]})


class StatsSchema(BaseSchema):
    """Counters of the delivery service since start or the last reset."""

    sent = fields.Integer()
    replays = fields.Integer()
    requests = fields.Integer()


# --- views -----------------------------------------------------------------------------


def _is_deliver_request() -> bool:
    return request.endpoint == f"{blp.name}.Deliver" and request.method == "POST"


@blp.before_request
def _before_deliver() -> None:
    """Sleep the simulated latency before parsing a delivery request."""
    if _is_deliver_request():
        apply_latency(current_app.config.get("DELIVERY_LATENCY_MS", 0))


@blp.after_request
def _count_unresolved(response: Response) -> Response:
    """Count a delivery request that never reached the store (an invalid body, say).

    One that did was counted by the store in the same step as its idempotency
    claim: with Redis that saves a round trip per delivery. One refused for want of the
    service's token (see :mod:`delivery.auth`) changes nothing, not even this count.
    """
    if _is_deliver_request() and not g.get("delivery_request_counted") and not caller_refused():
        idempotency_store().count_request()
    return response


@blp.route("/deliver")
class Deliver(MethodView):
    """The simulated provider."""

    # An instance: given a class, webargs builds (and deep-copies the fields of) one per request.
    @blp.arguments(DeliveryRequestSchema())
    @blp.response(200, DeliveryResultSchema)
    @blp.alt_response(422, schema=RejectionSchema, description=_REJECTED_DOC)
    @blp.alt_response(503, schema=ErrorSchema, description=_UNAVAILABLE_DOC)
    def post(self, message: dict[str, Any]) -> Any:
        """Deliver one message.

        200 when the (simulated) provider accepts it, 422 when a channel rule is
        broken or the provider refuses it (``rejected`` says whether the recipient or
        the message is at fault), 503 with ``Retry-After`` when the provider is
        unavailable. The same ``idempotency_key`` again answers the
        first result (not a 503), with ``Idempotent-Replayed: true``.
        """
        g.delivery_request_counted = True  # by the store, with its claim
        answer, replayed = idempotency_store().resolve(
            message["idempotency_key"], lambda: gateway().deliver(message), count_request=True
        )
        provider = gateway().provider_for(message).name
        record_delivery_request(message["channel"], provider, delivery_outcome(answer.status))
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        if answer.status == 200:
            return answer.body, headers
        abort(answer.status, headers={**answer.headers, **headers}, **answer.body)


@blp.route("/health")
class Health(MethodView):
    """Liveness."""

    @blp.response(200, HealthSchema)
    def get(self) -> dict[str, str]:
        """Liveness check: 200 while the process serves requests (no I/O)."""
        return {"status": "ok"}


@blp.route("/stats")
class Stats(MethodView):
    """Test-only counters."""

    @blp.response(200, StatsSchema)
    def get(self) -> dict[str, int]:
        """Delivery counters (test-only): sent, replays, requests."""
        with _store_answers():
            return idempotency_store().stats()


@blp.route("/stats/reset")
class StatsReset(MethodView):
    """Test-only reset."""

    @blp.response(200, StatsSchema)
    def post(self) -> dict[str, int]:
        """Zero the counters and forget every idempotency key (test-only)."""
        store = idempotency_store()
        with _store_answers():
            store.reset()
            return store.stats()


@contextlib.contextmanager
def _store_answers() -> Iterator[None]:
    """A shared store that does not answer is a retryable 503, not a 500."""
    try:
        yield
    except StoreUnavailable as exc:
        abort(503, message=str(exc), headers={"Retry-After": "5"})
