"""The idempotency memory in Redis, shared by every worker and replica of the delivery service.

Same interface and answers as :class:`delivery.idempotency.IdempotencyStore`; chosen
by ``DELIVERY_IDEMPOTENCY_URL=redis://…``. Per key, one Redis string:

- ``claim:<token>`` while a request decides the answer. It is taken with
  ``SET NX EX`` (atomic: of any number of workers racing on a new key, exactly one
  gets it) and expires after ``claim_ttl_s``, so a worker that died mid-send does
  not block the key for ever (a repeat after that may send again: a provider
  gives no way to ask whether the dead worker's message went out). A Lua script
  counts the request, tries the claim and, when the key is taken, reads what holds
  it, in one round trip;
- ``answer:<json>`` once decided (a 200 or a 422), kept ``ttl_s`` seconds. A 503 is
  not kept: the claim is deleted. A Lua script replaces the claim only while it is
  still this request's, and counts the send, in one round trip.

A request that finds a claim polls for the answer for up to ``wait_s`` seconds,
then answers a retryable 503; so does one whose claim vanished without an answer
(the first request got a 503). It never calls the provider itself: one send per key.
Without Redis nothing is sent (503): sending without the claim could send twice.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable

import redis

from delivery.idempotency import DEFAULT_WAIT_S, Answer, StoreUnavailable, busy

log = logging.getLogger("delivery.idempotency")

CLAIM = b"claim:"
ANSWER = b"answer:"
DEFAULT_CLAIM_TTL_S = 300
POLL_INTERVAL_S = 0.02
STORE_DOWN_MESSAGE = "The delivery service's idempotency store is unreachable; try again later."

# KEYS: the key, the requests counter, the replays counter. ARGV: our claim, its TTL, '1'
# to count the request. Returns nothing when the claim is ours, else what holds the key
# (another claim, or the answer: then the replay is counted).
_CLAIM = """
if ARGV[3] == '1' then
  redis.call('INCR', KEYS[2])
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', tonumber(ARGV[2])) then
  return false
end
local held = redis.call('GET', KEYS[1])
if held and string.sub(held, 1, 7) == 'answer:' then
  redis.call('INCR', KEYS[3])
end
return held
"""

# KEYS: the key, the sent counter. ARGV: our claim, the answer ('' to forget), its TTL,
# '1' to count a send. Returns 1 when the claim was still ours.
_FINISH = """
local mine = redis.call('GET', KEYS[1]) == ARGV[1]
if mine then
  if ARGV[2] == '' then
    redis.call('DEL', KEYS[1])
  else
    redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
  end
end
if ARGV[4] == '1' then
  redis.call('INCR', KEYS[2])
end
if mine then return 1 end
return 0
"""


def _encode(answer: Answer) -> bytes:
    payload = {"status": answer.status, "body": answer.body, "headers": answer.headers}
    return ANSWER + json.dumps(payload, separators=(",", ":")).encode()


def _decode(raw: bytes) -> Answer:
    payload = json.loads(raw[len(ANSWER) :])
    return Answer(payload["status"], payload["body"], payload["headers"])


def store_down() -> Answer:
    """The answer when Redis does not answer: retryable, and nothing was sent."""
    return Answer(503, {"message": STORE_DOWN_MESSAGE}, {"Retry-After": "5"})


class RedisIdempotencyStore:
    """Idempotency keys and ``/stats`` counters in Redis, under ``prefix``."""

    def __init__(
        self,
        url: str,
        *,
        ttl_s: int = 86_400,
        prefix: str = "delivery:",
        wait_s: float = DEFAULT_WAIT_S,
        claim_ttl_s: int = DEFAULT_CLAIM_TTL_S,
    ) -> None:
        self.ttl_s = ttl_s
        self.prefix = prefix
        self.wait_s = wait_s
        self.claim_ttl_s = claim_ttl_s
        self._redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._claim = self._redis.register_script(_CLAIM)
        self._finish = self._redis.register_script(_FINISH)
        self._counters = {name: f"{prefix}stats:{name}" for name in ("sent", "replays", "requests")}

    def _key(self, key: str) -> str:
        return f"{self.prefix}key:{key}"

    def count_request(self) -> None:
        """Count one ``POST /deliver`` request (best effort: a test-only counter)."""
        try:
            self._redis.incr(self._counters["requests"])
        except redis.RedisError as exc:
            log.warning("could not count a request in Redis: %s", exc)

    def resolve(
        self, key: str | None, decide: Callable[[], Answer], *, count_request: bool = False
    ) -> tuple[Answer, bool]:
        """Return ``(answer, replayed)``; see the module docstring for the rules.

        ``count_request`` counts the request in the same round trip as the claim.
        """
        if key is None:
            answer = decide()
            self._count(requests=count_request, sent=answer.status == 200)
            return answer, False

        name = self._key(key)
        token = CLAIM + uuid.uuid4().hex.encode()
        counters = [self._counters["requests"], self._counters["replays"]]
        try:
            held = self._claim(
                keys=[name, *counters], args=[token, self.claim_ttl_s, int(count_request)]
            )
            if held is not None:
                if held.startswith(ANSWER):
                    return _decode(held), True
                return self._wait_for_answer(name)
        except redis.RedisError as exc:
            log.error("idempotency store unreachable, nothing sent: %s", exc)
            return store_down(), False

        answer: Answer | None = None
        try:
            answer = decide()
        finally:
            keep = answer is not None and answer.remembered
            counted = answer is not None and answer.status == 200
            try:
                self._finish(
                    keys=[name, self._counters["sent"]],
                    args=[token, _encode(answer) if keep else b"", self.ttl_s, int(counted)],
                )
            except redis.RedisError as exc:
                # The claim expires by itself; until then repeats answer 503.
                log.error("could not record the answer of an idempotency key: %s", exc)
        return answer, False

    def _wait_for_answer(self, name: str) -> tuple[Answer, bool]:
        deadline = time.monotonic() + self.wait_s
        while True:
            raw = self._redis.get(name)
            if raw is None:  # the first request ended with a 503, or its claim expired
                return busy(), False
            if raw.startswith(ANSWER):
                self._redis.incr(self._counters["replays"])
                return _decode(raw), True
            if time.monotonic() >= deadline:
                return busy(), False
            time.sleep(POLL_INTERVAL_S)  # gevent's sleep under the gevent worker

    def _count(self, *, requests: bool, sent: bool) -> None:
        if not (requests or sent):
            return
        try:
            with self._redis.pipeline(transaction=False) as pipe:
                if requests:
                    pipe.incr(self._counters["requests"])
                if sent:
                    pipe.incr(self._counters["sent"])
                pipe.execute()
        except redis.RedisError as exc:
            log.warning("could not count a delivery in Redis: %s", exc)

    def stats(self) -> dict[str, int]:
        """Counters of all workers since the last reset: ``sent``, ``replays``, ``requests``."""
        try:
            values = self._redis.mget(list(self._counters.values()))
        except redis.RedisError as exc:
            raise StoreUnavailable(STORE_DOWN_MESSAGE) from exc
        return {name: int(value or 0) for name, value in zip(self._counters, values, strict=True)}

    def reset(self) -> None:
        """Forget every key and zero the counters under this store's prefix (tests only)."""
        try:
            batch = list(self._redis.scan_iter(match=f"{self.prefix}*", count=500))
            for start in range(0, len(batch), 500):
                self._redis.delete(*batch[start : start + 500])
        except redis.RedisError as exc:
            raise StoreUnavailable(STORE_DOWN_MESSAGE) from exc

    def close(self) -> None:
        """Close the connections to Redis."""
        self._redis.close()

    def __len__(self) -> int:
        return sum(1 for _ in self._redis.scan_iter(match=f"{self.prefix}key:*", count=500))
