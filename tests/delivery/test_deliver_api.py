"""POST /deliver and GET /health: successful answers and request validation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

Deliver = Callable[[Any], Any]


def test_health_is_ok(client: FlaskClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("channel", "details"),
    [
        ("email", {"bytes": len(b"It has shipped.")}),
        ("sms", {"encoding": "GSM-7", "segments": 1}),
        ("push", {"payload_bytes": len('{"title":"Hi","body":"You have mail"}')}),
    ],
)
def test_valid_message_is_sent(
    deliver: Deliver, message: Callable[..., dict], channel: str, details: dict
) -> None:
    before = datetime.now(UTC)
    response = deliver(message(channel))

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"status", "provider_message_id", "sent_at", "details"}
    assert body["status"] == "sent"
    assert isinstance(body["provider_message_id"], str)
    assert body["provider_message_id"]
    assert body["sent_at"].endswith("+00:00")
    sent_at = datetime.fromisoformat(body["sent_at"])
    assert before - timedelta(seconds=1) <= sent_at <= datetime.now(UTC) + timedelta(seconds=1)
    assert body["details"] == {**details, "provider": "simulator"}
    assert "Idempotent-Replayed" not in response.headers


def test_each_message_gets_its_own_provider_message_id(
    deliver: Deliver, message: Callable[..., dict]
) -> None:
    ids = {deliver(message("sms")).get_json()["provider_message_id"] for _ in range(5)}
    assert len(ids) == 5


@pytest.mark.parametrize("notification_id", [1, 0, 2**63 - 1, "42", "ntf_01HZX", "x" * 255, None])
def test_notification_id_may_be_a_string_an_integer_or_absent(
    deliver: Deliver, message: Callable[..., dict], notification_id: Any
) -> None:
    body = message("email")
    body["notification_id"] = notification_id
    assert deliver(body).status_code == 200


def test_notification_id_may_be_left_out(deliver: Deliver, message: Callable[..., dict]) -> None:
    body = message("email")
    del body["notification_id"]
    assert deliver(body).status_code == 200


@pytest.mark.parametrize(
    "notification_id", [True, False, 1.5, 1.0, [], {}, "", "x" * 256, 2**63, -(2**63) - 1]
)
def test_notification_id_of_another_type_is_422(
    deliver: Deliver,
    message: Callable[..., dict],
    assert_error: Callable,
    notification_id: Any,
) -> None:
    body = assert_error(deliver(message("email", notification_id=notification_id)), 422)
    assert "notification_id" in body["errors"]["json"]


@pytest.mark.parametrize("missing", ["channel", "target", "content"])
def test_required_field_missing_is_422_naming_it(
    deliver: Deliver, message: Callable[..., dict], assert_error: Callable, missing: str
) -> None:
    body = message("sms")
    del body[missing]
    error = assert_error(deliver(body), 422)
    assert error["errors"]["json"] == {missing: ["Missing data for required field."]}


def test_unknown_field_is_422_naming_it(
    deliver: Deliver, message: Callable[..., dict], assert_error: Callable
) -> None:
    error = assert_error(deliver(message("sms", priority="high")), 422)
    assert error["errors"]["json"] == {"priority": ["Unknown field."]}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("channel", "fax"),
        ("channel", "SMS"),
        ("channel", 1),
        ("channel", None),
        ("target", 14155552671),
        ("target", ["+14155552671"]),
        ("target", None),
        ("target", ""),
        ("content", ["hello"]),
        ("content", {"text": "hello"}),
        ("content", 5),
        ("content", None),
        ("content", ""),
        ("title", 5),
        ("title", ["t"]),
        ("idempotency_key", 5),
        ("idempotency_key", ""),
        ("idempotency_key", "k" * 256),
        ("idempotency_key", ["k"]),
    ],
)
def test_wrong_type_or_value_is_422_naming_the_field(
    client: FlaskClient,
    message: Callable[..., dict],
    assert_error: Callable,
    field: str,
    value: Any,
) -> None:
    body = message("sms")
    body[field] = value  # set explicitly: message() drops None values
    error = assert_error(client.post("/deliver", json=body), 422)
    assert field in error["errors"]["json"]


@pytest.mark.parametrize("key", ["k", "k" * 255, "order-42:v3", "ключ"])
def test_idempotency_key_of_1_to_255_characters_is_accepted(
    deliver: Deliver, message: Callable[..., dict], key: str
) -> None:
    assert deliver(message("sms", idempotency_key=key)).status_code == 200


def test_null_title_and_key_mean_absent(client: FlaskClient, message: Callable[..., dict]) -> None:
    body = {**message("sms"), "title": None, "idempotency_key": None}
    assert client.post("/deliver", json=body).status_code == 200


@pytest.mark.parametrize("payload", [[], ["sms"], "sms", 42, True, None])
def test_body_that_is_not_an_object_is_422(
    client: FlaskClient, assert_error: Callable, payload: Any
) -> None:
    assert_error(client.post("/deliver", json=payload), 422)


def test_body_that_is_not_json_is_422(client: FlaskClient, assert_error: Callable) -> None:
    response = client.post("/deliver", data="channel=sms", content_type="text/plain")
    assert_error(response, 422)


def test_empty_json_body_is_422(client: FlaskClient, assert_error: Callable) -> None:
    assert_error(client.post("/deliver", data="", content_type="application/json"), 422)


def test_openapi_document_describes_deliver(client: FlaskClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["info"]["title"] == "Notifier delivery service"
    assert {"/deliver", "/health", "/stats", "/stats/reset"} <= set(spec["paths"])
    responses = spec["paths"]["/deliver"]["post"]["responses"]
    assert {"200", "422", "503"} <= set(responses)


def test_swagger_ui_is_served_with_local_assets(client: FlaskClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "/docs/assets/swagger-ui-bundle.js" in page.get_data(as_text=True)
    with client.get("/docs/assets/swagger-ui-bundle.js") as asset:
        assert asset.status_code == 200
        assert "javascript" in asset.mimetype
