"""`verify_webhook`: check that a webhook request really comes from the notifier.

The service signs every event the Standard Webhooks way (`webhook-id`,
`webhook-timestamp`, `webhook-signature` headers; HMAC-SHA256 with the webhook's
`whsec_` secret). The `standardwebhooks` library checks the signature, and that the
timestamp is within five minutes of now (a replayed old request is refused).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook, WebhookVerificationError

from notifier_client.errors import NotifierError


def verify_webhook(body: bytes | str, headers: Mapping[str, str], secret: str) -> dict[str, Any]:
    """The event (`{"type", "timestamp", "data"}`) if the request is genuine; else
    NotifierError (status None).

    Pass the body exactly as received (bytes, before any JSON parsing), the request's
    headers (any mapping; names in any case) and the webhook's secret. After a secret
    rotation, requests carry both signatures for a day: the new secret verifies them.
    """
    try:
        event = Webhook(secret).verify(body, dict(headers.items()))
    except (WebhookVerificationError, EmptyWebhookSecretError, ValueError) as error:
        # ValueError: a malformed signature header, secret or body (binascii.Error and
        # json.JSONDecodeError are ValueErrors).
        raise NotifierError(f"webhook not verified: {error or 'bad signature'}") from error
    if not isinstance(event, dict):
        raise NotifierError("webhook not verified: the body is not a JSON object")
    return event
