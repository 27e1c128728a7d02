"""Idempotent delivery: the same key answers the first result; /stats counts what happened."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from delivery.idempotency import Answer, IdempotencyStore
from tests.delivery.test_redis_store import redis_or_skip

Deliver = Callable[[Any], Any]


def test_same_key_answers_the_first_sent_result(
    deliver: Deliver, message: Callable[..., dict]
) -> None:
    first = deliver(message("sms", idempotency_key="ntf-1-v1"))
    again = deliver(message("sms", idempotency_key="ntf-1-v1"))

    assert first.status_code == again.status_code == 200
    assert again.get_json() == first.get_json()  # same provider_message_id and sent_at
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers


def test_different_keys_are_different_messages(
    deliver: Deliver, message: Callable[..., dict]
) -> None:
    first = deliver(message("sms", idempotency_key="ntf-1-v1")).get_json()
    second = deliver(message("sms", idempotency_key="ntf-1-v2")).get_json()
    assert first["provider_message_id"] != second["provider_message_id"]


def test_without_a_key_every_request_is_a_new_message(
    deliver: Deliver, message: Callable[..., dict]
) -> None:
    first = deliver(message("sms")).get_json()
    second = deliver(message("sms")).get_json()
    assert first["provider_message_id"] != second["provider_message_id"]


def test_a_repeated_key_answers_the_first_result_even_with_other_content(
    deliver: Deliver, message: Callable[..., dict]
) -> None:
    """Documented: the key, not the body, identifies the message (a new key after an edit)."""
    first = deliver(message("sms", idempotency_key="k", content="one")).get_json()
    again = deliver(message("sms", idempotency_key="k", content="two")).get_json()
    assert again == first


def test_a_hook_rejection_is_rejected_again(
    make_app: Callable[..., Flask], message: Callable[..., dict], assert_error: Callable
) -> None:
    app = make_app()
    client = app.test_client()
    body = message("sms", target="+15005550001", idempotency_key="k")
    first = assert_error(client.post("/deliver", json=body), 422)

    app.config["DELIVERY_SIMULATOR_HOOKS"] = False  # the provider would now accept it...
    response = client.post("/deliver", json=body)
    assert assert_error(response, 422) == first  # ...but the key was already rejected
    assert response.headers["Idempotent-Replayed"] == "true"


def test_a_rule_rejection_is_rejected_again(
    client: FlaskClient, message: Callable[..., dict], assert_error: Callable
) -> None:
    first = assert_error(
        client.post("/deliver", json=message("sms", content="a" * 1531, idempotency_key="k")), 422
    )
    again = client.post("/deliver", json=message("sms", content="short", idempotency_key="k"))
    assert assert_error(again, 422) == first


def test_a_503_is_not_remembered(
    make_app: Callable[..., Flask], message: Callable[..., dict], assert_error: Callable
) -> None:
    app = make_app(DELIVERY_FAILURE_RATE=1.0)
    client = app.test_client()
    body = message("email", idempotency_key="k")
    assert_error(client.post("/deliver", json=body), 503)
    assert_error(client.post("/deliver", json=body), 503)

    app.config["DELIVERY_FAILURE_RATE"] = 0.0  # the outage is over: the retry goes through
    sent = client.post("/deliver", json=body)
    assert sent.status_code == 200
    assert "Idempotent-Replayed" not in sent.headers

    app.config["DELIVERY_FAILURE_RATE"] = 1.0  # and from then on the key answers "sent"
    again = client.post("/deliver", json=body)
    assert again.status_code == 200
    assert again.get_json() == sent.get_json()


def test_a_503_hook_is_not_remembered(
    make_app: Callable[..., Flask], message: Callable[..., dict]
) -> None:
    app = make_app()
    client = app.test_client()
    body = message("sms", target="+15005550002", idempotency_key="k")
    assert client.post("/deliver", json=body).status_code == 503
    app.config["DELIVERY_SIMULATOR_HOOKS"] = False
    assert client.post("/deliver", json=body).status_code == 200


def test_a_schema_error_does_not_use_the_key_up(
    client: FlaskClient, message: Callable[..., dict]
) -> None:
    assert client.post("/deliver", json=message("sms", idempotency_key="k", x=1)).status_code == 422
    assert client.post("/deliver", json=message("sms", idempotency_key="k")).status_code == 200


def test_concurrent_requests_with_one_new_key_send_one_message(
    make_app: Callable[..., Flask], message: Callable[..., dict]
) -> None:
    app = make_app(DELIVERY_LATENCY_MS=1)
    body = message("sms", idempotency_key="race")
    start = threading.Barrier(16)

    def post(_: int) -> dict[str, Any]:
        client = app.test_client()
        start.wait()
        response = client.post("/deliver", json=body)
        assert response.status_code == 200
        return response.get_json()

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(post, range(16)))

    assert len({answer["provider_message_id"] for answer in answers}) == 1
    assert len({answer["sent_at"] for answer in answers}) == 1
    stats = app.test_client().get("/stats").get_json()
    assert stats == {"sent": 1, "replays": 15, "requests": 16}


# --- /stats ------------------------------------------------------------------------------


def test_stats_start_at_zero(client: FlaskClient) -> None:
    response = client.get("/stats")
    assert response.status_code == 200
    assert response.get_json() == {"sent": 0, "replays": 0, "requests": 0}


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_stats_count_sent_messages_replays_and_requests(
    make_app: Callable[..., Flask],
    message: Callable[..., dict],
    store: str,
    request: pytest.FixtureRequest,
) -> None:
    if store == "redis":  # counted with the claim, in one round trip: the same figures
        prefix = f"test-delivery-{uuid.uuid4().hex}:"
        app = make_app(DELIVERY_IDEMPOTENCY_URL=redis_or_skip(), DELIVERY_IDEMPOTENCY_PREFIX=prefix)
    else:
        app = make_app()
    client = app.test_client()
    request.addfinalizer(lambda: client.post("/stats/reset"))
    client.post("/deliver", json=message("sms", idempotency_key="a"))  # sent
    client.post("/deliver", json=message("sms", idempotency_key="a"))  # replay
    client.post("/deliver", json=message("sms", idempotency_key="a"))  # replay
    client.post("/deliver", json=message("sms", idempotency_key="b"))  # sent
    client.post("/deliver", json=message("sms"))  # sent, no key
    client.post("/deliver", json=message("sms", target="+15005550001", idempotency_key="c"))
    client.post("/deliver", json=message("sms", target="+15005550001", idempotency_key="c"))
    client.post("/deliver", json=message("sms", target="+15005550002", idempotency_key="d"))
    client.post("/deliver", json={"channel": "sms"})  # invalid, still a request
    client.post("/deliver", data="{", content_type="application/json")  # malformed, too
    client.get("/health")  # not a delivery request

    assert client.get("/stats").get_json() == {"sent": 3, "replays": 3, "requests": 10}


def test_stats_reset_zeroes_counters_and_forgets_keys(
    client: FlaskClient, message: Callable[..., dict]
) -> None:
    first = client.post("/deliver", json=message("sms", idempotency_key="a")).get_json()

    reset = client.post("/stats/reset")
    assert reset.status_code == 200
    assert reset.get_json() == {"sent": 0, "replays": 0, "requests": 0}
    assert client.get("/stats").get_json() == {"sent": 0, "replays": 0, "requests": 0}

    after = client.post("/deliver", json=message("sms", idempotency_key="a")).get_json()
    assert after["provider_message_id"] != first["provider_message_id"]


def test_each_app_has_its_own_store(
    make_app: Callable[..., Flask], message: Callable[..., dict]
) -> None:
    one, two = make_app().test_client(), make_app().test_client()
    one.post("/deliver", json=message("sms", idempotency_key="a"))
    assert two.get("/stats").get_json()["requests"] == 0


# --- the store itself --------------------------------------------------------------------

SENT = Answer(200, {"status": "sent"})


def test_store_forgets_the_least_recently_used_key_beyond_its_bound() -> None:
    store = IdempotencyStore(max_keys=2)
    store.resolve("a", lambda: Answer(200, {"n": 1}))
    store.resolve("b", lambda: Answer(200, {"n": 2}))
    store.resolve("a", lambda: pytest.fail("a is remembered"))  # a is now the most recent
    store.resolve("c", lambda: Answer(200, {"n": 3}))  # evicts b

    assert len(store) == 2
    assert store.resolve("a", lambda: pytest.fail("a is remembered")) == (
        Answer(200, {"n": 1}),
        True,
    )
    answer, replayed = store.resolve("b", lambda: Answer(200, {"n": 4}))
    assert (answer.body, replayed) == ({"n": 4}, False)


def test_store_refuses_a_bound_below_one() -> None:
    with pytest.raises(ValueError):
        IdempotencyStore(max_keys=0)


def test_store_makes_a_second_caller_wait_for_the_first_answer() -> None:
    store = IdempotencyStore()
    deciding, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def slow_decision() -> Answer:
        calls.append("first")
        deciding.set()
        release.wait(5)
        return SENT

    first = threading.Thread(target=store.resolve, args=("k", slow_decision))
    first.start()
    assert deciding.wait(5)

    result: list[tuple[Answer, bool]] = []
    second = threading.Thread(
        target=lambda: result.append(store.resolve("k", lambda: calls.append("second") or SENT))
    )
    second.start()
    second.join(0.05)
    assert second.is_alive()  # blocked while the first answer is being decided

    release.set()
    first.join(5)
    second.join(5)
    assert calls == ["first"]
    assert result == [(SENT, True)]


def test_store_does_not_keep_503() -> None:
    store = IdempotencyStore()
    down = Answer(503, {"message": "down"}, {"Retry-After": "1"})
    assert store.resolve("k", lambda: down) == (down, False)
    assert store.resolve("k", lambda: SENT) == (SENT, False)
    assert store.stats() == {"sent": 1, "replays": 0, "requests": 0}
