"""Remembers the first answer per idempotency key, and counts what the service did.

A real provider deduplicates on the key the sender supplies: a dispatcher that
died after sending, or whose request timed out, sends again with the same key and
must not cause a second message. This store gives the simulator that behaviour:

- the first answer for a key is kept: a ``sent`` (same ``provider_message_id``
  and ``sent_at`` on every repeat) or a rejection (rejected again);
- a 503 is *not* kept, since "unavailable" is exactly the answer a retry should
  be able to get past;
- a key is claimed while its answer is decided: a second request with the same
  key waits for the first one's answer rather than sending again;
- :class:`IdempotencyStore` lives in process memory, bounded as an LRU
  (``max_keys``, default 100 000): the key used least recently is forgotten
  first, and a forgotten key is then treated as new. It serves one gunicorn
  worker process (the gevent worker handles the concurrency). With
  ``DELIVERY_IDEMPOTENCY_URL=redis://…``, :func:`delivery.make_store` returns
  :class:`delivery.redis_store.RedisIdempotencyStore` instead, shared by every
  worker and replica.

It also keeps the counters behind ``GET /stats`` (see :mod:`delivery.routes`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DEFAULT_MAX_KEYS = 100_000


@dataclass(frozen=True)
class Answer:
    """One answer of the delivery service: HTTP status, body fields and extra headers.

    For 200 ``body`` is the response body; for errors it holds the keyword
    arguments of ``abort`` (``message``, and ``rejected`` and ``errors`` when they apply).
    """

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def remembered(self) -> bool:
        """Whether a repeat of the same key should get this answer again (not for 503)."""
        return self.status != 503


class StoreUnavailable(Exception):
    """The shared store (Redis) does not answer a read or a reset of ``/stats``."""


BUSY_MESSAGE = "A delivery with this idempotency key is still in progress; try again later."
DEFAULT_WAIT_S = 10.0


def busy() -> Answer:
    """The answer to a repeat that waited in vain for the first request with its key."""
    return Answer(503, {"message": BUSY_MESSAGE}, {"Retry-After": "1"})


class _Claim:
    """A key being decided: the decider sets ``answer``, then ``done``."""

    __slots__ = ("answer", "done")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.answer: Answer | None = None


class IdempotencyStore:
    """Process-local, thread-safe, bounded map from idempotency key to first :class:`Answer`."""

    def __init__(self, max_keys: int = DEFAULT_MAX_KEYS, wait_s: float = DEFAULT_WAIT_S) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self.max_keys = max_keys
        self.wait_s = wait_s
        # One lock for the map, the claims and the counters, held only for bookkeeping.
        # A new key is *claimed* under it, then decided outside it (a real provider does
        # I/O), so unrelated keys go in parallel while a second request with the same key
        # waits for the first one's answer instead of sending again. Under gunicorn's
        # gevent worker the lock and the events are gevent's.
        self._lock = threading.Lock()
        self._answers: OrderedDict[str, Answer] = OrderedDict()
        self._claims: dict[str, _Claim] = {}
        self._requests = 0
        self._sent = 0
        self._replays = 0

    def count_request(self) -> None:
        """Count one ``POST /deliver`` request, valid or not."""
        with self._lock:
            self._requests += 1

    def resolve(
        self, key: str | None, decide: Callable[[], Answer], *, count_request: bool = False
    ) -> tuple[Answer, bool]:
        """Return ``(answer, replayed)`` for a request carrying ``key``.

        A remembered key answers from the store (``replayed`` is True) without
        calling ``decide``. Otherwise ``decide()`` produces the answer, which is
        remembered unless it is a 503. Without a key nothing is remembered. A
        request whose key is being decided by another waits for that answer (a
        503 included) for at most ``wait_s``, then answers a 503 of its own.
        ``count_request`` counts the request as :meth:`count_request` would.
        """
        if count_request:
            self.count_request()
        if key is None:
            answer = decide()
            with self._lock:
                self._count(answer)
            return answer, False

        with self._lock:
            cached = self._replay(key)
            if cached is not None:
                return cached, True
            claim = self._claims.get(key)
            owner = claim is None
            if owner:
                claim = self._claims[key] = _Claim()

        if not owner:
            if not claim.done.wait(self.wait_s) or claim.answer is None:
                return busy(), False
            with self._lock:
                cached = self._replay(key)
            return (cached, True) if cached is not None else (claim.answer, False)

        answer: Answer | None = None
        try:
            answer = decide()
        finally:
            with self._lock:
                del self._claims[key]
                if answer is not None:
                    self._count(answer)
                    if answer.remembered:
                        self._answers[key] = answer
                        if len(self._answers) > self.max_keys:
                            self._answers.popitem(last=False)
            claim.answer = answer
            claim.done.set()
        return answer, False

    def _replay(self, key: str) -> Answer | None:
        # Caller holds the lock.
        cached = self._answers.get(key)
        if cached is not None:
            self._answers.move_to_end(key)
            self._replays += 1
        return cached

    def _count(self, answer: Answer) -> None:
        # Caller holds the lock. Every 200 that is not a replay is one message sent.
        if answer.status == 200:
            self._sent += 1

    def stats(self) -> dict[str, int]:
        """Counters since start or the last reset: ``sent``, ``replays``, ``requests``."""
        with self._lock:
            return {"sent": self._sent, "replays": self._replays, "requests": self._requests}

    def reset(self) -> None:
        """Forget every key and zero the counters (between integration tests)."""
        with self._lock:
            self._answers.clear()
            self._requests = self._sent = self._replays = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._answers)
