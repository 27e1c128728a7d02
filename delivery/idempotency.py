"""Remembers the first answer per idempotency key, and counts what the service did.

A real provider deduplicates on the key the sender supplies: a dispatcher that
died after sending, or whose request timed out, sends again with the same key and
must not cause a second message. This store gives the simulator that behaviour:

- the first answer for a key is kept: a ``sent`` (same ``provider_message_id``
  and ``sent_at`` on every repeat) or a rejection (rejected again);
- a 503 is *not* kept, since "unavailable" is exactly the answer a retry should
  be able to get past;
- it lives in process memory, bounded as an LRU (``max_keys``, default 100 000):
  the key used least recently is forgotten first, and a forgotten key is then
  treated as new. Run one gunicorn worker process (the gevent worker handles
  the concurrency) so that every request sees the same store.

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
    arguments of ``abort`` (``message`` and optionally ``errors``).
    """

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def remembered(self) -> bool:
        """Whether a repeat of the same key should get this answer again (not for 503)."""
        return self.status != 503


class IdempotencyStore:
    """Process-local, thread-safe, bounded map from idempotency key to first :class:`Answer`."""

    def __init__(self, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self.max_keys = max_keys
        # One lock for the map and the counters. It is held while a new key's answer is
        # decided, so two concurrent requests with the same new key cannot both "send":
        # the second waits and then gets the first one's answer. A per-key lock would
        # let unrelated keys proceed in parallel, but deciding is pure computation
        # (rules, hooks, a random draw; the simulated latency is slept *before* this),
        # so one short global critical section costs nothing measurable and is simpler
        # to get right. Under gunicorn's gevent worker this is a gevent lock.
        self._lock = threading.Lock()
        self._answers: OrderedDict[str, Answer] = OrderedDict()
        self._requests = 0
        self._sent = 0
        self._replays = 0

    def count_request(self) -> None:
        """Count one ``POST /deliver`` request, valid or not."""
        with self._lock:
            self._requests += 1

    def resolve(self, key: str | None, decide: Callable[[], Answer]) -> tuple[Answer, bool]:
        """Return ``(answer, replayed)`` for a request carrying ``key``.

        A remembered key answers from the store (``replayed`` is True) without
        calling ``decide``. Otherwise ``decide()`` produces the answer, which is
        remembered unless it is a 503. Without a key nothing is remembered.
        """
        if key is None:
            answer = decide()
            with self._lock:
                self._count(answer)
            return answer, False

        with self._lock:
            cached = self._answers.get(key)
            if cached is not None:
                self._answers.move_to_end(key)
                self._replays += 1
                return cached, True
            answer = decide()
            self._count(answer)
            if answer.remembered:
                self._answers[key] = answer
                if len(self._answers) > self.max_keys:
                    self._answers.popitem(last=False)
            return answer, False

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
