"""notifier.web: both apps take their error shape, body limit, JSON parser and
text fields from it, so they answer the same way (two copies had drifted)."""

from __future__ import annotations

import io

import pytest
from marshmallow import ValidationError

from config import DeliveryConfig
from notifier.web import BaseSchema, Text
from tests.delivery_support import delivery_app

# (method, path) on each app where a JSON body is parsed.
JSON_ROUTES = {"api": ("POST", "/users"), "delivery": ("POST", "/deliver")}


@pytest.fixture
def clients(client):
    """The Notification API's and the delivery service's test clients."""
    return {"api": client, "delivery": delivery_app(DeliveryConfig).test_client()}


def _both(clients, send) -> list:
    return [send(clients[name], *JSON_ROUTES[name]) for name in ("api", "delivery")]


def _same_error(responses, code: int) -> dict:
    bodies = [response.get_json() for response in responses]
    assert [response.status_code for response in responses] == [code, code], bodies
    assert all(response.mimetype == "application/json" for response in responses)
    assert bodies[0]["message"] == bodies[1]["message"], bodies
    return bodies[0]


def test_an_unknown_route_is_the_same_404(clients):
    body = _same_error(_both(clients, lambda c, m, p: c.get("/no/such/route")), 404)
    assert body == {
        "code": 404,
        "status": "Not Found",
        "message": "The requested resource was not found.",
    }


@pytest.mark.parametrize(
    "raw",
    [b'{"name": ', b'{"name": "\xff\xfe"}', b"[" * 30_000 + b"]" * 30_000, b"9" * 5000],
    ids=["truncated", "invalid-utf8", "deep-nesting", "huge-integer"],
)
def test_an_unreadable_body_is_the_same_400(clients, raw):
    def send(c, method, path):
        return c.open(path, method=method, data=raw, content_type="application/json")

    body = _same_error(_both(clients, send), 400)
    assert body["message"] == "The request body is not valid JSON (or not valid UTF-8)."


def test_a_chunked_body_over_either_limit_is_413_naming_it(clients):
    def send(c, method, path):
        return c.open(
            path,
            method=method,
            environ_overrides={
                "wsgi.input": io.BytesIO(b" " * 300_000),
                "HTTP_TRANSFER_ENCODING": "chunked",
                "wsgi.input_terminated": True,
            },
            content_type="application/json",
        )

    api, delivery = _both(clients, send)
    assert (api.status_code, delivery.status_code) == (413, 413)
    assert api.get_json()["message"] == "The request body is larger than the 65536 bytes allowed."
    assert delivery.get_json()["message"] == (
        "The request body is larger than the 262144 bytes allowed."
    )


def test_a_422_names_every_invalid_field(clients):
    api = clients["api"].post("/users", json={"name": 1, "password": 2, "email": 3})
    assert api.status_code == 422
    assert api.get_json()["message"] == "Invalid name, email and password; see errors for each."
    delivery = clients["delivery"].post("/deliver", json={"channel": "fax"})
    assert delivery.status_code == 422
    assert delivery.get_json()["message"] == (
        "Invalid channel, target and content; see errors for each."
    )


class _Sample(BaseSchema):
    text = Text(trim=True)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("nul\x00inside", "NUL characters are not allowed."),
        ("lone \ud800 surrogate", "Not valid Unicode text."),
        ("\udfff", "Not valid Unicode text."),
    ],
)
def test_text_refuses_what_can_be_neither_stored_nor_sent(value, error):
    with pytest.raises(ValidationError) as raised:
        _Sample().load({"text": value})
    assert raised.value.messages == {"text": [error]}


def test_text_keeps_every_other_character_and_trims_when_asked():
    value = "  \U0001f600 e\u0301 \u202e \u00a0 \u00ad  "
    assert _Sample().load({"text": value}) == {"text": value.strip()}


class _Body(BaseSchema):
    text = Text(multiline=True)


# Every C0 and C1 control character, and DEL; NUL has its own message (above).
CONTROLS = [chr(code) for code in [*range(0x01, 0x20), 0x7F, *range(0x80, 0xA0)]]
BODY_WHITESPACE = ["\t", "\n", "\r"]


@pytest.mark.parametrize("char", [*CONTROLS, "\u2028", "\u2029"], ids=ascii)
def test_single_line_text_refuses_every_control_character_even_at_the_end(char):
    for value in (f"a{char}b", f"title{char}", f"{char}title"):
        with pytest.raises(ValidationError) as raised:
            _Sample().load({"text": value})
        assert raised.value.messages == {
            "text": ["Control characters (line breaks and tabs included) are not allowed."]
        }


@pytest.mark.parametrize(
    "char", [char for char in CONTROLS if char not in BODY_WHITESPACE], ids=ascii
)
def test_multiline_text_refuses_every_other_control_character(char):
    with pytest.raises(ValidationError) as raised:
        _Body().load({"text": f"line one{char}line two"})
    assert raised.value.messages == {
        "text": ["Control characters other than line breaks and tabs are not allowed."]
    }


def test_multiline_text_keeps_line_breaks_and_tabs():
    value = "Dear Ann,\r\n\tyour order\nhas shipped.\u2028"
    assert _Body().load({"text": value}) == {"text": value}
