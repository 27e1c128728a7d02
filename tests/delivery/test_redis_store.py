"""The idempotency memory in Redis (DELIVERY_IDEMPOTENCY_URL): a real Redis, one prefix per test."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis
from flask import Flask

from delivery.idempotency import Answer
from delivery.redis_store import RedisIdempotencyStore
from tests.delivery.fakes import free_port

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SENT = Answer(200, {"status": "sent", "provider_message_id": "m-1"})
REJECTED = Answer(422, {"message": "no such user"})
DOWN = Answer(503, {"message": "down"}, {"Retry-After": "3"})


def redis_or_skip() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    return REDIS_URL


@pytest.fixture
def prefix() -> str:
    return f"test-delivery-{uuid.uuid4().hex}:"


@pytest.fixture
def new_store(prefix: str) -> Iterator[Callable[..., RedisIdempotencyStore]]:
    url = redis_or_skip()
    stores: list[RedisIdempotencyStore] = []

    def _new(**kwargs) -> RedisIdempotencyStore:
        stores.append(RedisIdempotencyStore(url, prefix=prefix, **kwargs))
        return stores[-1]

    yield _new
    stores[0].reset()  # every key under this test's prefix, and nothing else
    for store in stores:
        store.close()


def test_the_first_answer_is_kept_for_every_worker(new_store) -> None:
    one, other = new_store(), new_store()  # two workers, one Redis
    assert one.resolve("k", lambda: SENT) == (SENT, False)
    assert other.resolve("k", lambda: pytest.fail("sent twice")) == (SENT, True)
    assert one.resolve("r", lambda: REJECTED) == (REJECTED, False)
    assert other.resolve("r", lambda: pytest.fail("asked twice")) == (REJECTED, True)
    assert one.stats() == {"sent": 1, "replays": 2, "requests": 0}


def test_a_request_is_counted_in_the_step_that_claims_its_key(new_store) -> None:
    store = new_store()
    assert store.resolve("k", lambda: SENT, count_request=True) == (SENT, False)
    assert store.resolve("k", lambda: pytest.fail("sent twice"), count_request=True) == (SENT, True)
    assert store.resolve(None, lambda: SENT, count_request=True) == (SENT, False)
    assert store.resolve(None, lambda: DOWN, count_request=True) == (DOWN, False)
    assert store.resolve("k", lambda: pytest.fail("sent twice")) == (SENT, True)
    assert store.stats() == {"sent": 2, "replays": 2, "requests": 4}


def test_a_503_is_not_kept(new_store) -> None:
    store = new_store()
    assert store.resolve("k", lambda: DOWN) == (DOWN, False)
    assert store.resolve("k", lambda: SENT) == (SENT, False)
    assert store.stats()["sent"] == 1


def test_a_racing_request_waits_for_the_first_answer(new_store) -> None:
    first, second = new_store(), new_store()
    deciding, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def slow() -> Answer:
        calls.append("first")
        deciding.set()
        release.wait(5)
        return SENT

    thread = threading.Thread(target=first.resolve, args=("k", slow))
    thread.start()
    assert deciding.wait(5)
    result: list[tuple[Answer, bool]] = []
    waiter = threading.Thread(
        target=lambda: result.append(second.resolve("k", lambda: calls.append("second") or SENT))
    )
    waiter.start()
    release.set()
    thread.join(5)
    waiter.join(5)
    assert calls == ["first"]
    assert result == [(SENT, True)]


def test_a_request_that_waits_in_vain_gets_a_retryable_503_and_sends_nothing(new_store) -> None:
    first, second = new_store(), new_store(wait_s=0.1)
    deciding, release = threading.Event(), threading.Event()

    def slow() -> Answer:
        deciding.set()
        release.wait(5)
        return SENT

    thread = threading.Thread(target=first.resolve, args=("k", slow))
    thread.start()
    assert deciding.wait(5)
    answer, replayed = second.resolve("k", lambda: pytest.fail("sent while in flight"))
    release.set()
    thread.join(5)
    assert (answer.status, replayed) == (503, False)
    assert answer.headers["Retry-After"]
    assert "in progress" in answer.body["message"]


def test_without_redis_nothing_is_sent(prefix: str) -> None:
    store = RedisIdempotencyStore(f"redis://127.0.0.1:{free_port()}/0", prefix=prefix)
    answer, _ = store.resolve("k", lambda: pytest.fail("sent without a claim"))
    assert answer.status == 503
    assert "idempotency store" in answer.body["message"]


def test_reset_forgets_only_its_own_prefix(new_store, prefix: str) -> None:
    store = new_store()
    other = redis.Redis.from_url(REDIS_URL)
    outside = f"{prefix.rstrip(':')}-outside"
    other.set(outside, "keep", ex=60)
    try:
        store.resolve("k", lambda: SENT)
        assert len(store) == 1
        store.reset()
        assert len(store) == 0
        assert store.stats() == {"sent": 0, "replays": 0, "requests": 0}
        assert other.get(outside) == b"keep"
    finally:
        other.delete(outside)
        other.close()


def test_the_app_uses_redis_when_configured(make_app: Callable[..., Flask], prefix: str) -> None:
    url = redis_or_skip()
    app = make_app(DELIVERY_IDEMPOTENCY_URL=url, DELIVERY_IDEMPOTENCY_PREFIX=prefix)
    client = app.test_client()
    body = {"channel": "sms", "target": "+14155552671", "content": "hi", "idempotency_key": "k"}
    try:
        first = client.post("/deliver", json=body)
        again = make_app(DELIVERY_IDEMPOTENCY_URL=url, DELIVERY_IDEMPOTENCY_PREFIX=prefix)
        replay = again.test_client().post("/deliver", json=body)  # another process, same Redis
        assert replay.get_json() == first.get_json()
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert client.get("/stats").get_json() == {"sent": 1, "replays": 1, "requests": 2}
    finally:
        client.post("/stats/reset")


def test_stats_without_redis_answer_a_retryable_503_in_the_error_shape(
    make_app: Callable[..., Flask], prefix: str
) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    app = make_app(DELIVERY_IDEMPOTENCY_URL=url, DELIVERY_IDEMPOTENCY_PREFIX=prefix)
    client = app.test_client()
    for response in (client.get("/stats"), client.post("/stats/reset")):
        assert response.status_code == 503
        assert response.headers["Retry-After"]
        body = response.get_json()
        assert body["code"] == 503
        assert "idempotency store" in body["message"]
