"""`X-Request-ID`: the client's own when valid, else a new one, on every answer."""

from __future__ import annotations

import pytest

from notifier.observability.request_id import HEADER

VALID = ["a", "abc-123", "A.b_C-9", "x" * 128, "0f8fad5b-d9cb-469f-a165-70867728950e"]
INVALID = ["", "x" * 129, "has space", "a,b", "café", "semi;colon", "new\tline", "slash/"]


@pytest.mark.parametrize("sent", VALID)
def test_a_valid_id_is_echoed(client, sent):
    assert client.get("/health", headers={HEADER: sent}).headers[HEADER] == sent


@pytest.mark.parametrize("sent", INVALID)
def test_an_invalid_id_is_replaced(client, sent):
    answered = client.get("/health", headers={HEADER: sent}).headers[HEADER]
    assert answered != sent
    assert 1 <= len(answered) <= 128 and answered.isalnum()


def test_without_one_every_answer_gets_a_new_one(client):
    first = client.get("/health").headers[HEADER]
    second = client.get("/health").headers[HEADER]
    assert first != second


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/no/such/route", {}, 404),
        ("DELETE", "/health", {}, 405),
        ("GET", "/users/me", {}, 401),
        ("POST", "/users", {"data": "{", "content_type": "application/json"}, 400),
        ("POST", "/users", {"json": {}}, 422),
        ("POST", "/users", {"data": "x" * 70_000, "content_type": "text/plain"}, 413),
    ],
)
def test_errors_carry_the_id_too(client, method, path, kwargs, status):
    response = client.open(path, method=method, headers={HEADER: "req-err-1"}, **kwargs)
    assert response.status_code == status
    assert response.headers[HEADER] == "req-err-1"


def test_the_delivery_service_answers_with_it(delivery_client):
    response = delivery_client.get("/health", headers={HEADER: "from-the-worker"})
    assert response.headers[HEADER] == "from-the-worker"
