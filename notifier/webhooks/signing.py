"""Standard Webhooks secrets and signatures.

A secret is `whsec_` + base64 of 32 random bytes; the HMAC key is those bytes. A
request is signed over `"{webhook-id}.{webhook-timestamp}.{body}"` with HMAC-SHA256,
and `webhook-signature` holds `v1,<base64 signature>`, several of them separated by
spaces while an old secret is still honoured after a rotation (receivers accept a
request when any one of them verifies).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"  # noqa: S105 (a format prefix, not a secret)
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def new_event_id() -> str:
    """A message id as Standard Webhooks' examples show them (`msg_` + 32 hex digits)."""
    return "msg_" + uuid.uuid4().hex


def sign(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256>` of one request, with one secret."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{event_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets_: Iterable[str], event_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: one signature per secret, newest first."""
    return " ".join(sign(secret, event_id, timestamp, body) for secret in secrets_)


def headers(secrets_: Iterable[str], event_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers and the content type of one try."""
    return {
        "Content-Type": "application/json",
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets_, event_id, timestamp, body),
    }
