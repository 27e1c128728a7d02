"""The delivery service's HTTP client: one connection pool and a timeout.

`DeliveryClient.deliver()` never raises for anything the network or the delivery
service can do: every answer (and every failure to get one) becomes a
`DeliveryResult` whose `outcome` is one of the attempt outcomes.

How an answer is classified (the table of outcomes) is in `answers`.

Built on urllib3's public pool rather than `requests`: the dispatcher sends one kind of
request to one host, so `requests`' per-request layer (merging settings, hooks, the
cookie jar, building a `Response`) bought it nothing and cost a measurable share of its
CPU per delivery (docs/operations/performance.md, "The dispatcher's HTTP client").
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import getproxies, proxy_bypass

import urllib3

from notifier.database import utcnow
from notifier.notifications.lifecycle import Outcome
from notifier.worker.answers import Answer, classify, shorten


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
    """Sends `POST {base_url}/deliver` through one urllib3 pool, shared by the sender threads.

    The pool (thread-safe, `pool_size` connections to the one host) keeps connections
    alive between requests, so a steady stream of deliveries does not pay a TCP
    handshake each time.
    """

    def __init__(
        self, base_url: str, timeout_s: float, pool_size: int = 32, api_token: str = ""
    ) -> None:
        self.url = base_url.rstrip("/") + "/deliver"
        self.timeout_s = timeout_s
        self._timeout = urllib3.Timeout(connect=timeout_s, read=timeout_s)
        self.http = _pool_manager(self.url, max(1, pool_size))
        # Every request has the same method, URL and headers.
        self._headers = {"User-Agent": "notifier-dispatcher", "Content-Type": "application/json"}
        if api_token:
            # The delivery service answers only its dispatcher (DELIVERY_API_TOKEN).
            self._headers["Authorization"] = f"Bearer {api_token}"

    def close(self) -> None:
        self.http.clear()

    def deliver(self, request: DeliveryRequest) -> DeliveryResult:
        """Send one request and classify the answer (or the failure to get one)."""
        started_at = utcnow()
        clock = time.monotonic()
        status: int | None = None
        body = json.dumps(request.payload(), ensure_ascii=False).encode("utf-8")
        try:
            answer = self._exchange(body)
        except _NoAnswer as failure:
            fields = failure.fields
        else:
            status = answer.status
            fields = classify(answer)
        finished_at = utcnow()
        duration_ms = max(0, round((time.monotonic() - clock) * 1000))
        return DeliveryResult(
            started_at=started_at,
            finished_at=finished_at,
            duration_ms=duration_ms,
            http_status=status,
            **fields,
        )

    def _exchange(self, body: bytes) -> Answer:
        """One POST and its whole answer; raises `_NoAnswer` with the attempt's fields."""
        try:
            # No urllib3 retries: retrying is the dispatcher's job (with backoff and a record
            # of every attempt). Redirects are not followed: a 3xx is answered "later".
            response = self.http.urlopen(
                "POST",
                self.url,
                body=body,
                headers=self._headers,
                timeout=self._timeout,
                retries=False,
                redirect=False,
                preload_content=False,
            )
        except urllib3.exceptions.TimeoutError as error:
            # urllib3 counts a refused connection as a connect timeout (NewConnectionError).
            if isinstance(error, urllib3.exceptions.NewConnectionError):
                raise _NoAnswer(_unreachable(error)) from None
            raise _NoAnswer(self._timed_out()) from None
        except (urllib3.exceptions.HTTPError, OSError) as error:
            # Reset, closed before an answer, garbage instead of a status line.
            raise _NoAnswer(_unreachable(error)) from None
        try:
            data = response.read()
        except urllib3.exceptions.TimeoutError:
            raise _NoAnswer(self._timed_out()) from None
        except (urllib3.exceptions.HTTPError, OSError) as error:
            # A connection closed mid-answer, a bad chunked body, a body that will not decode.
            text = f"Bad answer from the delivery service: {_reason(error)}"
            raise _NoAnswer(_unavailable(text)) from None
        finally:
            response.release_conn()
        return Answer(response.status, response.reason or "", response.headers, data)

    def _timed_out(self) -> dict[str, Any]:
        return {
            "outcome": Outcome.UNAVAILABLE,
            "error": f"No answer from the delivery service within {self.timeout_s:g} s.",
        }


class _NoAnswer(Exception):
    """No usable answer: `fields` are the attempt's outcome and error."""

    def __init__(self, fields: dict[str, Any]) -> None:
        super().__init__(fields["error"])
        self.fields = fields


def _unavailable(text: str) -> dict[str, Any]:
    return {"outcome": Outcome.UNAVAILABLE, "error": shorten(text)}


def _unreachable(error: Exception) -> dict[str, Any]:
    return _unavailable(f"Could not reach the delivery service: {_reason(error)}")


def _pool_manager(url: str, pool_size: int) -> urllib3.PoolManager:
    """One pool for the one host, through the environment's proxy if one applies.

    `pool_size` connections are kept; block=False: a burst beyond the pool opens an
    extra connection rather than waiting, and only `pool_size` of them are kept afterwards.
    The proxy settings (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY) are read here, once,
    not on every request.
    """
    options: dict[str, Any] = {"num_pools": 1, "maxsize": pool_size, "block": False}
    proxy = _proxy_for(url)
    if proxy is None:
        return urllib3.PoolManager(**options)
    auth = urllib3.util.parse_url(proxy).auth
    # A proxy URL's user:password becomes Proxy-Authorization, as requests did.
    headers = urllib3.util.make_headers(proxy_basic_auth=unquote(auth)) if auth else None
    return urllib3.ProxyManager(proxy, proxy_headers=headers, **options)


def _proxy_for(url: str) -> str | None:
    """The environment's proxy for `url` (the standard library's reading), or None."""
    parts = urlsplit(url)
    if not parts.hostname or proxy_bypass(parts.hostname):
        return None
    proxies = getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy:
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def _reason(error: Exception) -> str:
    """The innermost cause of a urllib3 error, without the URL noise."""
    cause: BaseException = error
    while True:
        inner = getattr(cause, "reason", None) or cause.__cause__ or cause.__context__
        if inner is None or inner is cause or not isinstance(inner, BaseException):
            break
        cause = inner
    text = str(cause) or type(cause).__name__
    return f"{type(cause).__name__}: {text}" if type(cause).__name__ not in text else text
