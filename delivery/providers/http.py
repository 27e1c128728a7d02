"""What the HTTP providers (Twilio, FCM) share: a pooled session and failure answers.

Every failure of the HTTP exchange itself is a 503: a timeout, a refused or
dropped connection, a TLS failure. A reply whose body cannot be read as the
provider documents it is judged by its status code alone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter

import delivery.providers.base as base
from delivery.idempotency import Answer

POOL_SIZE = 32


def session() -> requests.Session:
    """A session whose connection pool is large enough for a gevent worker's concurrency.

    No automatic retries: a retry after the request left could send a message twice;
    the dispatcher retries, with the same idempotency key, after a 503.
    """
    http = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE, max_retries=0)
    http.mount("https://", adapter)
    http.mount("http://", adapter)
    return http


def json_body(response: requests.Response) -> dict[str, Any]:
    """The reply's JSON object, or ``{}`` when it is not one (garbage, HTML, empty)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def exchange_failed(provider: str, exc: requests.RequestException, timeout_s: float) -> Answer:
    """The 503 for a request that got no usable reply."""
    if isinstance(exc, requests.Timeout):
        return base.unavailable(f"{provider} did not answer within {timeout_s:g} s.")
    if isinstance(exc, requests.exceptions.SSLError):
        return base.misconfigured(provider, f"TLS failed: {base.clip(exc)}")
    if isinstance(exc, requests.ConnectionError):
        return base.unavailable(f"{provider} cannot be reached: {base.clip(exc)}")
    return base.unavailable(f"The request to {provider} failed: {base.clip(exc)}")


def accepted(provider: str, message_id: object, details: Mapping[str, Any]) -> Answer:
    """A 2xx from the provider: sent, with its message id. A 2xx without a usable id
    still counts as sent (the provider took it; retrying could send it twice)."""
    if not isinstance(message_id, str) or not message_id:
        logging.getLogger(f"delivery.providers.{provider}").warning(
            "%s: a 2xx without a message id; the message is counted as sent", provider
        )
        message_id = base.new_message_id(f"{provider}-unnamed")
    return base.sent(provider, message_id, details)
