"""Reading the delivery service's answers: an outcome from each HTTP status.

Classification is by HTTP status alone (the body only supplies details):

======================== =============== ==========================================
answer                   outcome         what the dispatcher does
======================== =============== ==========================================
200 with a usable body   ``sent``        `sent`, `sent_at`, `provider_message_id`
200 with a bad body      ``unavailable`` retry: we cannot prove it was sent, and the
                                         idempotency key makes the retry safe
422                      ``rejected``    `failed`, the body's `message` as reason;
                                         `rejected_kind` is its `rejected`
                                         (``target`` or ``message``)
408, 429                 ``unavailable`` retry (both mean "not now", not "never")
401, 403                 ``unavailable`` retry, and an error log: DELIVERY_API_TOKEN is
                                         missing or wrong; the message is not at fault
other 4xx (400, 404...)  ``rejected``    `failed`: our request is wrong, and sending
                                         it again would not make it right
5xx (503, 502...)        ``unavailable`` retry; a 503's `Retry-After` is a minimum
1xx/3xx (unexpected)     ``unavailable`` retry (redirects are not followed)
timeout, refused, reset  ``unavailable`` retry, `http_status` is null
======================== =============== ==========================================

`classify` reads an `Answer`: the status, reason, headers and body the client received,
whatever HTTP library received them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from notifier.database import utcnow
from notifier.notifications.lifecycle import Outcome

log = logging.getLogger(__name__)

# Retryable although they are 4xx: the server asks us to come back later.
RETRYABLE_4XX = frozenset({408, 429})
# Our credentials refused (DELIVERY_API_TOKEN missing or not the delivery service's): the
# message is not at fault and will go once the setting is fixed, so retry (and log it).
REFUSED_CREDENTIALS = frozenset({401, 403})
# Longest error text kept from a response body, so one odd answer cannot bloat a row.
MAX_ERROR_CHARS = 500
MAX_PROVIDER_ID_CHARS = 255  # the width of notifications.provider_message_id
# What a 422 may say was refused: the recipient, or the message.
REJECTED_TARGET = "target"
REJECTED_KINDS = frozenset({REJECTED_TARGET, "message"})


@dataclass(frozen=True)
class Answer:
    """An HTTP answer as received: `headers` looks names up case-insensitively."""

    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes


def _printable(text: str) -> str:
    """Without control characters: PostgreSQL text cannot hold NUL, logs should not hold ESC."""
    return "".join(char if char.isprintable() else " " for char in text)


def shorten(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """Printable, on one line, at most `limit` characters: safe to store and to show."""
    text = " ".join(_printable(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_object(answer: Answer) -> dict[str, Any] | None:
    """The body as a JSON object (UTF-8, -16 or -32, as `json.loads` detects), or None."""
    try:
        body = json.loads(answer.body)
    except (ValueError, RecursionError):  # not JSON (or not text), or nested past the stack
        return None
    return body if isinstance(body, dict) else None


def _message(answer: Answer) -> str | None:
    """The error shape's `message`, if the body has one."""
    body = _json_object(answer)
    message = body.get("message") if body else None
    if isinstance(message, str) and message.strip():
        return shorten(message)
    return None


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` in seconds: delta-seconds or an HTTP date; None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = (when - (now or utcnow())).total_seconds()
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN, inf
        return None
    return max(0.0, seconds)


def classify(answer: Answer) -> dict[str, Any]:
    """Outcome and details of an HTTP answer, by status (see the module docstring)."""
    status = answer.status
    if status == 200:
        body = _json_object(answer)
        provider_id = body.get("provider_message_id") if body else None
        if (
            isinstance(provider_id, str)
            and provider_id.strip()
            and len(provider_id) <= MAX_PROVIDER_ID_CHARS
            and provider_id.isprintable()
        ):
            return {"outcome": Outcome.SENT, "provider_message_id": provider_id}
        return {
            "outcome": Outcome.UNAVAILABLE,
            "error": "The delivery service answered 200 without a usable provider_message_id; "
            "retrying with the same idempotency key.",
        }
    if status == 422:
        body = _json_object(answer)
        # The 422 names what was refused in a member spelled like the outcome.
        kind = body.get(Outcome.REJECTED.value) if body else None
        return {
            "outcome": Outcome.REJECTED,
            "error": _message(answer) or "The provider rejected the notification.",
            "rejected_kind": kind if isinstance(kind, str) and kind in REJECTED_KINDS else None,
        }
    if status in REFUSED_CREDENTIALS:
        log.error(
            "the delivery service refused the dispatcher's credentials (HTTP %s): "
            "set DELIVERY_API_TOKEN to the delivery service's value",
            status,
        )
        return {
            "outcome": Outcome.UNAVAILABLE,
            "error": f"The delivery service refused the dispatcher's credentials (HTTP {status}); "
            "check DELIVERY_API_TOKEN.",
            "retry_after_s": parse_retry_after(answer.headers.get("Retry-After")),
        }
    if 400 <= status < 500 and status not in RETRYABLE_4XX:
        detail = _message(answer) or answer.reason or "no reason given"
        return {
            "outcome": Outcome.REJECTED,
            "error": shorten(f"The delivery service refused the request (HTTP {status}): {detail}"),
        }
    detail = _message(answer) or answer.reason or "no reason given"
    return {
        "outcome": Outcome.UNAVAILABLE,
        "error": shorten(f"The delivery service is unavailable (HTTP {status}): {detail}"),
        "retry_after_s": parse_retry_after(answer.headers.get("Retry-After")),
    }
