"""SMS through Twilio's Messages API (``SMS_PROVIDER=twilio``), with ``requests``.

``POST {TWILIO_API_BASE}/2010-04-01/Accounts/{sid}/Messages.json`` with the form
fields ``To``, ``Body`` and ``From`` (or ``MessagingServiceSid`` when ``TWILIO_FROM``
is a Messaging Service SID), HTTP basic auth with the account SID and auth token.
When ``PUBLIC_BASE_URL`` is set, every message also carries
``StatusCallback={PUBLIC_BASE_URL}/receipts/twilio``, where Twilio then reports
whether it reached the phone.

Twilio's errors are ``{"code", "message", "more_info", "status"}``; they become:

- 201: sent, with Twilio's ``sid`` as the ``provider_message_id``;
- 400 whose code says the recipient cannot receive (an invalid, unreachable,
  landline, unsubscribed or not-permitted number): 422 with Twilio's message and
  ``rejected: "target"`` (the codes are in :mod:`delivery.providers.refusals`);
- 400 whose code is about our sender (``TWILIO_FROM`` not a Twilio number or not
  SMS-capable, a bad Messaging Service): 503 and an error log, like 401, 403 and
  404 (refused credentials, an unknown account);
- 400 for a queue that is full, 429 and 5xx: 503, with Twilio's ``Retry-After``;
- any other 400 with a Twilio error code (the message itself, such as a body
  Twilio will not take): 422 with ``rejected: "message"``; anything else that Twilio
  does not document: 503.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

import requests

import delivery.providers.base as base
import delivery.providers.http as http
from delivery.idempotency import Answer
from delivery.providers.base import Delivery
from delivery.providers.refusals import refused, twilio_kind

log = logging.getLogger("delivery.providers.twilio")

NAME = "twilio"
DEFAULT_API_BASE = "https://api.twilio.com"
_NEEDED_BY = "SMS_PROVIDER=twilio"
_MESSAGING_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")

# Our sender or account settings are at fault: the message will go once they are fixed.
SENDER_CODES = frozenset({20003, 20005, 21212, 21603, 21606, 21659, 21660, 21704, 21705})
# Twilio is overloaded for this sender: later.
LATER_CODES = frozenset({20429, 21611, 30001})


class TwilioProvider:
    """Sends each SMS with one call to the Messages API."""

    name = NAME

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        sender: str,
        api_base: str,
        timeout_s: float,
        public_base_url: str = "",
    ) -> None:
        self.url = f"{api_base.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._auth = (account_sid, auth_token)
        self.sender_field = (
            "MessagingServiceSid" if _MESSAGING_SERVICE_SID.fullmatch(sender) else "From"
        )
        self.sender = sender
        self.timeout_s = timeout_s
        # Twilio posts the message's delivery receipts there (the API's receipts route).
        self.status_callback = f"{public_base_url}/receipts/twilio" if public_base_url else ""
        self.http = http.session()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TwilioProvider:
        """Read the ``TWILIO_*`` settings; refuse missing ones."""
        return cls(
            account_sid=base.setting(config, "TWILIO_ACCOUNT_SID", _NEEDED_BY),
            auth_token=base.setting(config, "TWILIO_AUTH_TOKEN", _NEEDED_BY),
            sender=base.setting(config, "TWILIO_FROM", _NEEDED_BY),
            api_base=base.optional(config, "TWILIO_API_BASE", DEFAULT_API_BASE),
            timeout_s=base.number(config, "TWILIO_TIMEOUT_S", 10.0),
            public_base_url=base.public_base_url(config),
        )

    def send(self, delivery: Delivery) -> Answer:
        """Send one SMS; map Twilio's reply to an answer."""
        form = {"To": delivery.target, "Body": delivery.content, self.sender_field: self.sender}
        if self.status_callback:
            form["StatusCallback"] = self.status_callback
        try:
            response = self.http.post(self.url, data=form, auth=self._auth, timeout=self.timeout_s)
        except requests.RequestException as exc:
            return http.exchange_failed("Twilio", exc, self.timeout_s)
        return self._answer(response, delivery)

    def _answer(self, response: requests.Response, delivery: Delivery) -> Answer:
        status = response.status_code
        body = http.json_body(response)
        if 200 <= status <= 299:
            return http.accepted(NAME, body.get("sid"), delivery.details)

        code = body.get("code")
        reason = base.clip(body.get("message") or response.reason or "no reason given")
        described = f"{reason} (Twilio error {code})" if code else reason
        retry_after = base.retry_after_seconds(response.headers.get("Retry-After"))
        if status == 429 or status >= 500 or code in LATER_CODES:
            return base.unavailable(f"Twilio is unavailable ({status}): {described}", retry_after)
        if status in (401, 403, 404) or code in SENDER_CODES:
            return base.misconfigured(NAME, f"{status}: {described}")
        if status == 400 and isinstance(code, int):
            return refused(f"Twilio refused the message: {described}", twilio_kind(code))
        # Without Twilio's error body nothing says the message is at fault.
        return base.unavailable(f"Twilio answered an unexpected {status}: {described}")

    def close(self) -> None:
        """Close the HTTP connections."""
        self.http.close()
