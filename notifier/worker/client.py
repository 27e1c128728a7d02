"""The delivery service's HTTP client: one pooled session, a timeout, and classification.

`DeliveryClient.deliver()` never raises for anything the network or the delivery
service can do: every answer (and every failure to get one) becomes a
`DeliveryResult` whose `outcome` is one of the attempt outcomes.

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
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter

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
class DeliveryRequest:
    """What the dispatcher hands to the client: plain values, never ORM objects."""

    notification_id: int
    idempotency_key: str
    channel: str
    target: str
    title: str
    content: str
    # Made with a test API key: the delivery service answers it with its simulator.
    sandbox: bool = False
    # Email only: the one-click unsubscribe URL (the List-Unsubscribe headers), if any.
    list_unsubscribe: str | None = None

    def payload(self) -> dict[str, Any]:
        """The JSON body of `POST /deliver` (`list_unsubscribe` only when there is one)."""
        body: dict[str, Any] = {
            "notification_id": self.notification_id,
            "idempotency_key": self.idempotency_key,
            "channel": self.channel,
            "target": self.target,
            "title": self.title,
            "content": self.content,
            "sandbox": self.sandbox,
        }
        if self.list_unsubscribe:
            body["list_unsubscribe"] = self.list_unsubscribe
        return body


@dataclass(frozen=True)
class DeliveryResult:
    """The classified answer to one delivery request (one attempt)."""

    outcome: Outcome
    started_at: datetime
    finished_at: datetime
    duration_ms: int
    http_status: int | None = None
    error: str | None = None
    provider_message_id: str | None = None
    retry_after_s: float | None = None
    # A 422's `rejected`: "target" (the provider refused the recipient: do not send to it
    # again) or "message"; None for any other answer, or a 422 that does not say.
    rejected_kind: str | None = None

    @property
    def retryable(self) -> bool:
        return self.outcome == Outcome.UNAVAILABLE


def _printable(text: str) -> str:
    """Without control characters: PostgreSQL text cannot hold NUL, logs should not hold ESC."""
    return "".join(char if char.isprintable() else " " for char in text)


def _shorten(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """Printable, on one line, at most `limit` characters: safe to store and to show."""
    text = " ".join(_printable(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_object(response: requests.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _message(response: requests.Response) -> str | None:
    """The error shape's `message`, if the body has one."""
    body = _json_object(response)
    message = body.get("message") if body else None
    if isinstance(message, str) and message.strip():
        return _shorten(message)
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


class DeliveryClient:
    """Sends `POST {base_url}/deliver` over a pooled, thread-safe `requests.Session`.

    One session is shared by every sender thread: its connection pool (one per
    host, `pool_size` connections) keeps connections alive between requests, so
    a steady stream of deliveries does not pay a TCP handshake each time.
    """

    def __init__(
        self, base_url: str, timeout_s: float, pool_size: int = 32, api_token: str = ""
    ) -> None:
        self.url = base_url.rstrip("/") + "/deliver"
        self.timeout_s = timeout_s
        self.session = requests.Session()
        # No urllib3 retries: retrying is the dispatcher's job (with backoff and a record
        # of every attempt). pool_block=False: a burst beyond the pool opens an extra
        # connection rather than waiting; only pool_size of them are kept afterwards.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(1, pool_size), max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"User-Agent": "notifier-dispatcher"})
        # Proxy settings from the environment are read once here, not on every request
        # (requests re-reads them per call when trust_env is on: measurable per delivery).
        self.session.proxies.update(requests.utils.get_environ_proxies(self.url))
        self.session.trust_env = False
        # Every request has the same method, URL and headers: prepare them once and copy
        # (`Session.post` would merge the session's settings into each request anew).
        headers = {"Content-Type": "application/json"}
        if api_token:
            # The delivery service answers only its dispatcher (DELIVERY_API_TOKEN).
            headers["Authorization"] = f"Bearer {api_token}"
        self._template = self.session.prepare_request(
            requests.Request("POST", self.url, headers=headers)
        )

    def close(self) -> None:
        self.session.close()

    def deliver(self, request: DeliveryRequest) -> DeliveryResult:
        """Send one request and classify the answer (or the failure to get one)."""
        started_at = utcnow()
        clock = time.monotonic()
        status: int | None = None
        try:
            prepared = self._template.copy()
            prepared.prepare_body(
                data=json.dumps(request.payload(), ensure_ascii=False).encode("utf-8"), files=None
            )
            response = self.session.send(prepared, timeout=self.timeout_s, allow_redirects=False)
            status = response.status_code
            fields = classify(response)
        except requests.Timeout:
            fields = {
                "outcome": Outcome.UNAVAILABLE,
                "error": f"No answer from the delivery service within {self.timeout_s:g} s.",
            }
        except requests.ConnectionError as error:
            fields = {
                "outcome": Outcome.UNAVAILABLE,
                "error": _shorten(f"Could not reach the delivery service: {_reason(error)}"),
            }
        except requests.RequestException as error:
            # Garbage on the wire, a connection closed mid-answer, a bad chunked body...
            fields = {
                "outcome": Outcome.UNAVAILABLE,
                "error": _shorten(f"Bad answer from the delivery service: {_reason(error)}"),
            }
        finished_at = utcnow()
        duration_ms = max(0, round((time.monotonic() - clock) * 1000))
        return DeliveryResult(
            started_at=started_at,
            finished_at=finished_at,
            duration_ms=duration_ms,
            http_status=status,
            **fields,
        )


def _reason(error: Exception) -> str:
    """The innermost cause of a requests/urllib3 error, without the URL noise."""
    cause: BaseException = error
    while True:
        inner = getattr(cause, "reason", None) or cause.__cause__ or cause.__context__
        if inner is None or inner is cause or not isinstance(inner, BaseException):
            break
        cause = inner
    text = str(cause) or type(cause).__name__
    return f"{type(cause).__name__}: {text}" if type(cause).__name__ not in text else text


def classify(response: requests.Response) -> dict[str, Any]:
    """Outcome and details of an HTTP answer, by status (see the module docstring)."""
    status = response.status_code
    if status == 200:
        body = _json_object(response)
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
        body = _json_object(response)
        # The 422 names what was refused in a member spelled like the outcome.
        kind = body.get(Outcome.REJECTED.value) if body else None
        return {
            "outcome": Outcome.REJECTED,
            "error": _message(response) or "The provider rejected the notification.",
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
            "check DELIVERY_API_TOKEN. The message will go once it is fixed.",
            "retry_after_s": parse_retry_after(response.headers.get("Retry-After")),
        }
    if 400 <= status < 500 and status not in RETRYABLE_4XX:
        detail = _message(response) or response.reason or "no reason given"
        return {
            "outcome": Outcome.REJECTED,
            "error": _shorten(
                f"The delivery service refused the request (HTTP {status}): {detail}"
            ),
        }
    detail = _message(response) or response.reason or "no reason given"
    return {
        "outcome": Outcome.UNAVAILABLE,
        "error": _shorten(f"The delivery service is unavailable (HTTP {status}): {detail}"),
        "retry_after_s": parse_retry_after(response.headers.get("Retry-After")),
    }
