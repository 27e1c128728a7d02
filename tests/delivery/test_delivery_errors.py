"""Every error of the delivery service has the one shape, and no input produces a 500."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

MAX_BODY = 262_144


def _post_raw(
    client: FlaskClient, data: bytes | str, content_type: str = "application/json"
) -> Any:
    return client.post("/deliver", data=data, content_type=content_type)


@pytest.mark.parametrize(
    ("send", "status"),
    [
        (lambda c: _post_raw(c, "{not json"), 400),
        (lambda c: _post_raw(c, '{"channel": "sms",}'), 400),
        (lambda c: _post_raw(c, b'{"channel": "sms", "content": "\xff\xfe"}'), 400),
        (lambda c: _post_raw(c, b"\xef\xbb\xbf{}"), 400),  # UTF-8 byte order mark
        (lambda c: _post_raw(c, '{"notification_id": ' + "9" * 5000 + "}"), 400),
        (lambda c: _post_raw(c, "[" * 50_000 + "]" * 50_000), 400),
        (lambda c: c.get("/no/such/route"), 404),
        (lambda c: c.post("/deliver/"), 404),
        (lambda c: c.get("/deliver"), 405),
        (lambda c: c.delete("/health"), 405),
        (lambda c: _post_raw(c, b" " * (MAX_BODY + 1)), 413),
        (lambda c: _post_raw(c, b" " * (MAX_BODY + 1), "text/plain"), 413),
        (lambda c: c.post("/deliver", json={"channel": "sms"}), 422),
        (lambda c: c.post("/deliver", json={"channel": "sms", "surprise": 1}), 422),
    ],
    ids=[
        "malformed-json",
        "trailing-comma",
        "invalid-utf8",
        "bom",
        "huge-integer",
        "deep-nesting",
        "unknown-route",
        "trailing-slash",
        "wrong-method",
        "wrong-method-health",
        "too-large-json",
        "too-large-other",
        "missing-fields",
        "unknown-field",
    ],
)
def test_error_has_the_one_shape(
    client: FlaskClient, assert_error: Callable, send: Callable, status: int
) -> None:
    assert_error(send(client), status)


def test_malformed_json_is_400_not_422(client: FlaskClient, assert_error: Callable) -> None:
    body = assert_error(_post_raw(client, '{"channel": '), 400)
    assert "JSON" in body["message"]


def test_validation_error_says_which_fields(client: FlaskClient, assert_error: Callable) -> None:
    body = assert_error(client.post("/deliver", json={"channel": "sms"}), 422)
    assert body["message"] == "Invalid target and content; see errors for each."
    assert set(body["errors"]["json"]) == {"target", "content"}


def test_405_says_which_methods_are_allowed(client: FlaskClient, assert_error: Callable) -> None:
    response = client.get("/deliver")
    assert_error(response, 405)
    assert "POST" in response.headers["Allow"]


def test_413_names_the_limit(client: FlaskClient, assert_error: Callable) -> None:
    body = assert_error(_post_raw(client, b" " * (MAX_BODY + 1)), 413)
    assert str(MAX_BODY) in body["message"]


@pytest.mark.parametrize("size", [MAX_BODY + 1, 10 * MAX_BODY])
def test_chunked_body_over_the_limit_is_413(
    client: FlaskClient, assert_error: Callable, size: int
) -> None:
    """No Content-Length: werkzeug would cut the body at the limit and read bad JSON (400)."""
    response = client.post(
        "/deliver",
        environ_overrides={
            "wsgi.input": io.BytesIO(b" " * size),
            "HTTP_TRANSFER_ENCODING": "chunked",
            "wsgi.input_terminated": True,
        },
        content_type="application/json",
    )
    body = assert_error(response, 413)
    assert str(MAX_BODY) in body["message"]


def test_chunked_body_within_the_limit_is_read_whole(
    client: FlaskClient, message: Callable[..., dict]
) -> None:
    body = message("email")
    body["content"] = "a" * 90_000  # more than one read buffer, within both limits
    response = client.post(
        "/deliver",
        environ_overrides={
            "wsgi.input": io.BytesIO(json.dumps(body).encode()),
            "HTTP_TRANSFER_ENCODING": "chunked",
            "wsgi.input_terminated": True,
        },
        content_type="application/json",
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["details"] == {"bytes": 90_000, "provider": "simulator"}


def test_body_of_exactly_256_kib_is_read(
    client: FlaskClient, message: Callable[..., dict], assert_error: Callable
) -> None:
    body = message("email")
    body["content"] = ""
    padding = MAX_BODY - len(json.dumps(body).encode())
    body["content"] = "a" * padding
    raw = json.dumps(body).encode()
    assert len(raw) == MAX_BODY

    error = assert_error(_post_raw(client, raw), 422)  # read, then refused by the 100 KB rule
    assert "content" in error["errors"]["json"]


def test_unhandled_exception_is_a_500_in_the_one_shape(
    make_app: Callable[..., Flask], assert_error: Callable
) -> None:
    app = make_app(TESTING=False)

    def explode() -> None:
        raise RuntimeError("secret internals")

    app.add_url_rule("/explode", "explode", explode)
    response = app.test_client().get("/explode")
    body = assert_error(response, 500)
    assert "secret internals" not in response.get_data(as_text=True)
    assert "RuntimeError" not in response.get_data(as_text=True)
    assert body["status"] == "Internal Server Error"


def test_503_has_the_one_shape_and_retry_after(
    make_app: Callable[..., Flask], message: Callable[..., dict], assert_error: Callable
) -> None:
    response = (
        make_app(DELIVERY_FAILURE_RATE=1.0).test_client().post("/deliver", json=message("sms"))
    )
    assert_error(response, 503)
    assert response.headers["Retry-After"] == "1"


ODD_STRINGS = [
    "\x00",
    "nul\x00inside",
    "\x00" * 1000,
    "\ud800",
    "\udfff",
    "\ud83d\ude00",  # a surrogate pair written as escapes: a valid emoji
    "\U0010ffff",
    "\ufeff",
    "\u202eevil",
    "e\u0301",
    "\u2028\u2029",
    "\x1b[31m",
    "\r\n",
    "%s%n{0}",
    "' OR 1=1 --",
    "😀" * 3000,
    "ж" * 20_000,
    "",
    " ",
]


@pytest.mark.parametrize("channel", ["email", "sms", "push"])
@pytest.mark.parametrize(
    "field", ["notification_id", "idempotency_key", "target", "title", "content"]
)
@pytest.mark.parametrize("value", ODD_STRINGS, ids=range(len(ODD_STRINGS)))
def test_odd_text_in_any_field_is_never_a_500(
    client: FlaskClient, message: Callable[..., dict], channel: str, field: str, value: str
) -> None:
    body = message(channel)
    body[field] = value
    response = client.post("/deliver", json=body)
    assert response.status_code in {200, 422}, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    if response.status_code == 422:
        assert response.get_json()["message"]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"channel": "sms", "target": "+14155552671", "content": "\\u0000"}',
        b'{"channel": "sms", "target": "+14155552671", "content": "\\ud800"}',
        b'{"channel": "email", "target": "a@example.com", "title": NaN, "content": "x"}',
        b'{"channel": "push", "target": "' + b"a" * 40 + b'", "content": Infinity}',
        b'{"channel": "sms", "channel": "email", "target": "+14155552671", "content": "x"}',
        b'{"channel": "sms", "target": "+14155552671", "content": "x", "notification_id": -0.0}',
        b'{"channel": "sms", "target": "+14155552671", "content": "x", "notification_id": 1e400}',
        b"\x00",
        b"null",
        b"{}",
    ],
)
def test_odd_json_is_never_a_500(client: FlaskClient, raw: bytes) -> None:
    response = _post_raw(client, raw)
    assert response.status_code in {200, 400, 422}, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
