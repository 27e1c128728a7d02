"""The delivery service's HTTP client: one pooled session and a timeout.

`DeliveryClient.deliver()` never raises for anything the network or the delivery
service can do: every answer (and every failure to get one) becomes a
`DeliveryResult` whose `outcome` is one of the attempt outcomes.

How an answer is classified (the table of outcomes) is in `answers`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from notifier.database import utcnow
from notifier.notifications.lifecycle import Outcome
from notifier.worker.answers import classify, shorten


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
                "error": shorten(f"Could not reach the delivery service: {_reason(error)}"),
            }
        except requests.RequestException as error:
            # Garbage on the wire, a connection closed mid-answer, a bad chunked body...
            fields = {
                "outcome": Outcome.UNAVAILABLE,
                "error": shorten(f"Bad answer from the delivery service: {_reason(error)}"),
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
