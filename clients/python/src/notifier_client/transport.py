"""HTTP for the client: one `requests.Session`, errors as `NotifierError`, and retries.

A try is repeated, at most `max_tries` times in all, when the answer is 429 or 503 (the
request was not carried out: too many requests, or the service is briefly unavailable),
waiting what `Retry-After` asks, or a short growing pause when it says nothing. A
connection error or a timeout is retried only for calls that may safely run twice:
reads, edits and deletes, and creates that carry an `Idempotency-Key` (the service
answers a repeated key with the first result, so a retry never sends twice). A create's
409 with `Retry-After` (the same key still in flight) is waited out the same way.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import requests

from notifier_client.errors import NotifierError

RETRY_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class RetryPolicy:
    """How many tries, and how long to wait between them."""

    max_tries: int = 3
    backoff_s: float = 0.5  # first pause when the answer names none; doubles each time
    max_wait_s: float = 60.0  # a longer Retry-After is not waited for: the error is raised

    def __post_init__(self) -> None:
        if self.max_tries < 1:
            raise ValueError("max_tries must be at least 1")

    def pause(self, try_number: int, retry_after: str | None) -> float | None:
        """Seconds to wait after try `try_number`; None to give up now."""
        asked = parse_retry_after(retry_after)
        if asked is None:
            # Jitter, so that many clients refused at once do not come back at once.
            asked = self.backoff_s * 2 ** (try_number - 1) * random.uniform(0.5, 1.0)  # noqa: S311
        return asked if asked <= self.max_wait_s else None


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` in seconds (a number of seconds or an HTTP date), None if absent or odd."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class Transport:
    """Sends requests to one base URL with fixed headers, the retry policy and a timeout."""

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        timeout: float,
        policy: RetryPolicy,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.policy = policy
        self.session = session or requests.Session()
        self.session.headers.update(headers)
        self._sleep = sleep

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
    ) -> requests.Response:
        """The answer to `method path` (below 400), after retries; else NotifierError."""
        url = f"{self.base_url}{path}"
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        safe_to_repeat = method in {"GET", "PUT", "PATCH", "DELETE"} or bool(idempotency_key)
        try_number = 0
        while True:
            try_number += 1
            last_try = try_number >= self.policy.max_tries
            try:
                response = self.session.request(
                    method, url, params=params, json=json, headers=headers, timeout=self.timeout
                )
            except (requests.ConnectionError, requests.Timeout) as error:
                if not safe_to_repeat or last_try:
                    raise NotifierError(f"{method} {url} failed: {error}") from error
                self._sleep(self.policy.pause(try_number, None) or 0.0)
                continue
            if response.status_code < 400:
                return response
            if not last_try and self._retryable(response, idempotency_key):
                pause = self.policy.pause(try_number, response.headers.get("Retry-After"))
                if pause is not None:
                    response.close()
                    self._sleep(pause)
                    continue
            raise NotifierError.from_response(response)

    @staticmethod
    def _retryable(response: requests.Response, idempotency_key: str | None) -> bool:
        if response.status_code in RETRY_STATUSES:
            return True
        # The same key still in flight: the service asks to come back for its result.
        return (
            response.status_code == 409
            and idempotency_key is not None
            and "Retry-After" in response.headers
        )

    def close(self) -> None:
        self.session.close()
