"""What a 422 of /deliver says was refused: the recipient (target) or the message.

A schema error keeps ``errors`` and has no ``rejected``; a broken channel rule keeps
``errors`` and says ``rejected: "message"``; a provider's refusal says ``rejected`` and
has no ``errors``. A replay answers the same, ``rejected`` included, in memory and in
Redis.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.delivery.test_redis_store import redis_or_skip

Deliver = Callable[[Any], Any]


@pytest.mark.parametrize(
    "changes",
    [
        {"target": None},  # missing
        {"content": 5},  # mistyped
        {"title": ["a list"]},
        {"sandbox": "yes"},
        {"unexpected": 1},
    ],
)
def test_a_schema_error_keeps_errors_and_says_nothing_of_a_rejection(
    deliver: Deliver, message: Callable[..., dict], assert_error: Callable, changes: dict
) -> None:
    body = assert_error(deliver(message("email", **changes)), 422)
    assert body["errors"]["json"]
    assert "rejected" not in body


def test_an_unknown_channel_is_a_schema_error(
    deliver: Deliver, message: Callable[..., dict], assert_error: Callable
) -> None:
    body = assert_error(deliver({**message("email"), "channel": "fax"}), 422)
    assert "channel" in body["errors"]["json"]
    assert "rejected" not in body


@pytest.mark.parametrize(
    ("channel", "changes", "field"),
    [
        ("sms", {"content": "x" * 1531}, "content"),  # 11 GSM-7 segments
        ("email", {"title": "x" * 201}, "title"),
        ("email", {"content": "x" * 100_001}, "content"),
        ("email", {"target": "not-an-address"}, "target"),
        ("sms", {"target": "+1 415 555 2671"}, "target"),
        ("push", {"content": "x" * 5000}, "content"),
    ],
)
def test_a_broken_channel_rule_blames_the_message_and_names_the_field(
    deliver: Deliver,
    message: Callable[..., dict],
    assert_error: Callable,
    channel: str,
    changes: dict,
    field: str,
) -> None:
    body = assert_error(deliver(message(channel, **changes)), 422)
    assert body["rejected"] == "message"
    assert field in body["errors"]["json"]


def test_an_accepted_message_carries_no_rejection(
    deliver: Deliver, message: Callable[..., dict]
) -> None:
    response = deliver(message("email"))
    assert response.status_code == 200
    assert "rejected" not in response.get_json()


@pytest.mark.parametrize(
    ("channel", "target"),
    [("email", "reject@example.com"), ("sms", "+15005550001"), ("push", "reject" + "x" * 40)],
)
def test_a_replayed_hook_rejection_still_blames_the_target(
    make_app: Callable[..., Flask],
    message: Callable[..., dict],
    assert_error: Callable,
    channel: str,
    target: str,
) -> None:
    app = make_app()
    client = app.test_client()
    body = message(channel, target=target, idempotency_key="k")
    first = assert_error(client.post("/deliver", json=body), 422)
    app.config["DELIVERY_SIMULATOR_HOOKS"] = False  # the provider would now accept it
    replay = client.post("/deliver", json=body)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert assert_error(replay, 422) == first
    assert first["rejected"] == "target"
    assert "errors" not in first


def test_a_rejection_replayed_from_redis_still_blames_the_target(
    make_app: Callable[..., Flask], message: Callable[..., dict], assert_error: Callable
) -> None:
    url = redis_or_skip()
    settings = {
        "DELIVERY_IDEMPOTENCY_URL": url,
        "DELIVERY_IDEMPOTENCY_PREFIX": f"t-{uuid.uuid4()}:",
    }
    client = make_app(**settings).test_client()
    body = message("sms", target="+15005550001", idempotency_key="k")
    try:
        first = assert_error(client.post("/deliver", json=body), 422)
        other = make_app(**settings, DELIVERY_SIMULATOR_HOOKS=False)  # another replica
        replay = other.test_client().post("/deliver", json=body)
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert assert_error(replay, 422) == first
        assert first["rejected"] == "target"
    finally:
        client.post("/stats/reset")


def test_a_replayed_rule_rejection_still_blames_the_message(
    deliver: Deliver, message: Callable[..., dict], assert_error: Callable
) -> None:
    body = message("email", title="x" * 201, idempotency_key="k")
    first = assert_error(deliver(body), 422)
    again = deliver(body)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert assert_error(again, 422) == first
    assert first["rejected"] == "message"


# --- list_unsubscribe -------------------------------------------------------------------------

URL = "https://notify.example.com/unsubscribe/eyJ1IjoxfQ.abc-DEF_123"


def test_the_simulator_echoes_the_unsubscribe_url(
    deliver: Deliver, message: Callable[..., dict]
) -> None:
    response = deliver(message("email", list_unsubscribe=URL))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["details"]["list_unsubscribe"] == URL


def test_without_an_unsubscribe_url_the_simulator_echoes_none(
    deliver: Deliver, message: Callable[..., dict]
) -> None:
    for changes in ({}, {"list_unsubscribe": None}):
        details = deliver(message("email", **changes)).get_json()["details"]
        assert "list_unsubscribe" not in details


def test_a_replay_answers_the_first_result_whatever_the_unsubscribe_url(
    deliver: Deliver, message: Callable[..., dict]
) -> None:
    first = deliver(message("email", idempotency_key="k", list_unsubscribe=URL)).get_json()
    other = URL.replace("abc", "xyz")
    again = deliver(message("email", idempotency_key="k", list_unsubscribe=other))
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first


@pytest.mark.parametrize(
    "url",
    [
        "http://notify.example.com/unsubscribe/abc",
        "mailto:unsubscribe@example.com",
        "https://",
        "/unsubscribe/abc",
        "https://notify.example.com/" + "a" * 952,  # 979 characters: beyond a header line
        "https://notify.example.com/un subscribe",
        "https://notify.example.com/unsubscribe/\u00e9",
        "https://notify.example.com/\r\nBcc: victim@example.com",
        "https://notify.example.com/\x07",
        "https://notify.example.com:port/",
        "",
        5,
    ],
)
def test_an_unsubscribe_url_that_is_not_a_plain_https_url_is_a_schema_error(
    deliver: Deliver, message: Callable[..., dict], assert_error: Callable, url: Any
) -> None:
    body = assert_error(deliver(message("email", list_unsubscribe=url)), 422)
    assert "list_unsubscribe" in body["errors"]["json"]
    assert "rejected" not in body


def test_an_unsubscribe_url_of_978_characters_is_accepted_and_979_is_a_schema_error(
    deliver: Deliver, message: Callable[..., dict], assert_error: Callable
) -> None:
    """The schema takes what the SMTP provider can write on one header line, no more,
    whichever provider answers (the simulator here), so sandbox and live agree."""
    url = "https://notify.example.com/" + "a" * 951
    assert len(url) == 978
    assert deliver(message("email", list_unsubscribe=url)).status_code == 200
    body = assert_error(deliver(message("email", list_unsubscribe=url + "a")), 422)
    assert body["errors"]["json"]["list_unsubscribe"] == [
        "At most 978 characters: List-Unsubscribe must fit on one mail header line "
        "(998 characters), and a URL cannot be folded."
    ]
    assert "rejected" not in body


@pytest.mark.parametrize("channel", ["sms", "push"])
def test_an_unsubscribe_url_on_another_channel_is_a_schema_error(
    deliver: Deliver, message: Callable[..., dict], assert_error: Callable, channel: str
) -> None:
    body = assert_error(deliver(message(channel, list_unsubscribe=URL)), 422)
    assert "email" in body["errors"]["json"]["list_unsubscribe"][0]
    assert "rejected" not in body
