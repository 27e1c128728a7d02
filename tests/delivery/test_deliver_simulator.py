"""Simulator hooks, random outages and latency of the delivery service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

TOKEN_TAIL = "x" * 30

REJECT_TARGETS = [
    ("email", "reject@example.com"),
    ("email", "reject@EXAMPLE.COM"),  # the domain is normalised, the local part is exact
    ("sms", "+15005550001"),
    ("push", "reject" + TOKEN_TAIL),
    ("push", "rejected-device" + TOKEN_TAIL),
]
UNAVAILABLE_TARGETS = [
    ("email", "unavailable@example.com"),
    ("sms", "+15005550002"),
    ("push", "unavailable" + TOKEN_TAIL),
    ("push", "unavailable:device" + TOKEN_TAIL),
]
NOT_HOOKS = [
    ("email", "Reject@example.com"),
    ("email", "reject+1@example.com"),
    ("email", "noreject@example.com"),
    ("email", "unavailable1@example.com"),
    ("sms", "+15005550003"),
    ("push", "Reject" + TOKEN_TAIL),
    ("push", "x-reject" + TOKEN_TAIL),
]


@pytest.mark.parametrize(("channel", "target"), REJECT_TARGETS)
def test_reject_hook_is_a_refusal_of_the_target_not_a_validation_error(
    make_app: Callable[..., Flask],
    message: Callable[..., dict],
    assert_error: Callable,
    channel: str,
    target: str,
) -> None:
    client = make_app().test_client()
    body = assert_error(client.post("/deliver", json=message(channel, target=target)), 422)
    assert "rejected" in body["message"]
    assert body["rejected"] == "target"
    assert "errors" not in body


@pytest.mark.parametrize(("channel", "target"), UNAVAILABLE_TARGETS)
def test_unavailable_hook_answers_503_with_retry_after(
    make_app: Callable[..., Flask],
    message: Callable[..., dict],
    assert_error: Callable,
    channel: str,
    target: str,
) -> None:
    client = make_app().test_client()
    response = client.post("/deliver", json=message(channel, target=target))
    body = assert_error(response, 503)
    assert "unavailable" in body["message"]
    assert int(response.headers["Retry-After"]) >= 1


@pytest.mark.parametrize(("channel", "target"), NOT_HOOKS)
def test_lookalikes_of_hook_targets_are_sent(
    make_app: Callable[..., Flask], message: Callable[..., dict], channel: str, target: str
) -> None:
    client = make_app().test_client()
    assert client.post("/deliver", json=message(channel, target=target)).status_code == 200


@pytest.mark.parametrize(("channel", "target"), REJECT_TARGETS + UNAVAILABLE_TARGETS)
def test_hooks_off_sends_to_hook_targets(
    make_app: Callable[..., Flask], message: Callable[..., dict], channel: str, target: str
) -> None:
    client = make_app(DELIVERY_SIMULATOR_HOOKS=False).test_client()
    assert client.post("/deliver", json=message(channel, target=target)).status_code == 200


def test_rules_come_before_hooks(
    make_app: Callable[..., Flask], message: Callable[..., dict], assert_error: Callable
) -> None:
    """A broken message to an 'unavailable' target is a permanent 422, not a retryable 503."""
    client = make_app().test_client()
    body = message("email", target="unavailable@example.com", title="a\nb")
    error = assert_error(client.post("/deliver", json=body), 422)
    assert "title" in error["errors"]["json"]


@pytest.mark.parametrize("channel", ["email", "sms", "push"])
def test_failure_rate_1_answers_503_with_retry_after(
    make_app: Callable[..., Flask],
    message: Callable[..., dict],
    assert_error: Callable,
    channel: str,
) -> None:
    client = make_app(DELIVERY_FAILURE_RATE=1.0).test_client()
    for _ in range(20):
        response = client.post("/deliver", json=message(channel))
        assert_error(response, 503)
        assert response.headers["Retry-After"] == "1"


def test_failure_rate_0_always_sends(
    make_app: Callable[..., Flask], message: Callable[..., dict]
) -> None:
    client = make_app(DELIVERY_FAILURE_RATE=0.0).test_client()
    statuses = {client.post("/deliver", json=message("sms")).status_code for _ in range(200)}
    assert statuses == {200}


def test_failure_rate_still_lets_rule_violations_be_422(
    make_app: Callable[..., Flask], message: Callable[..., dict], assert_error: Callable
) -> None:
    client = make_app(DELIVERY_FAILURE_RATE=1.0).test_client()
    assert_error(client.post("/deliver", json=message("sms", target="4155552671")), 422)


def test_failure_rate_half_gives_both_answers(
    make_app: Callable[..., Flask], message: Callable[..., dict]
) -> None:
    client = make_app(DELIVERY_FAILURE_RATE=0.5).test_client()
    statuses = [client.post("/deliver", json=message("sms")).status_code for _ in range(200)]
    # P(fewer than 40 of either in 200 draws at p=0.5) is below 1e-17.
    assert statuses.count(200) > 40
    assert statuses.count(503) > 40
    assert set(statuses) == {200, 503}


def test_config_is_read_at_request_time(
    make_app: Callable[..., Flask], message: Callable[..., dict]
) -> None:
    app = make_app()
    client = app.test_client()
    assert client.post("/deliver", json=message("sms")).status_code == 200
    app.config["DELIVERY_FAILURE_RATE"] = 1.0
    assert client.post("/deliver", json=message("sms")).status_code == 503
    app.config["DELIVERY_FAILURE_RATE"] = 0.0
    app.config["DELIVERY_SIMULATOR_HOOKS"] = False
    assert client.post("/deliver", json=message("sms", target="+15005550001")).status_code == 200


def test_latency_setting_still_answers(
    make_app: Callable[..., Flask], message: Callable[..., dict]
) -> None:
    client = make_app(DELIVERY_LATENCY_MS=1).test_client()
    assert client.post("/deliver", json=message("push")).status_code == 200
    assert client.post("/deliver", json={"channel": "push"}).status_code == 422
    assert client.get("/health").status_code == 200


@pytest.mark.parametrize(
    "overrides",
    [
        {"DELIVERY_FAILURE_RATE": -0.1},
        {"DELIVERY_FAILURE_RATE": 1.5},
        {"DELIVERY_LATENCY_MS": -1},
    ],
)
def test_nonsense_simulator_settings_stop_startup(
    make_app: Callable[..., Flask], overrides: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="DELIVERY_"):
        make_app(**overrides)
