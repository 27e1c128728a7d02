"""The character rules of notifier.openapi, as JSON Schema patterns, say what the API checks.

Checked over every Unicode code point (surrogates aside: JSON text cannot carry
one alone): a trimmed field refuses every control character (tabs and line
breaks too) and the line separators, and is blank when trimming leaves nothing;
free text refuses every control character but tab, line feed and carriage return.
"""

from __future__ import annotations

import re
import sys
import unicodedata

from notifier.openapi import LINE_PATTERN, TEXT_PATTERN
from tests.openapi_support import operations

CHARACTERS = [chr(code) for code in range(sys.maxunicode + 1) if not 0xD800 <= code <= 0xDFFF]


def _is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc"


def test_a_one_character_line_is_anything_trimming_keeps_that_is_not_a_control():
    line = re.compile(LINE_PATTERN)
    for char in CHARACTERS:
        expected = not char.isspace() and not _is_control(char)
        assert bool(line.fullmatch(char)) == expected, hex(ord(char))


def test_a_line_may_have_spaces_around_and_inside_but_no_control_or_line_break():
    line = re.compile(LINE_PATTERN)
    assert line.fullmatch("\u3000 Your order\u00a0has shipped  ")
    for char in [c for c in CHARACTERS if _is_control(c)] + ["\u2028", "\u2029"]:
        assert not line.fullmatch(f"Your {char}order"), hex(ord(char))
    assert not line.fullmatch(" \u2003 ")


def test_free_text_refuses_every_control_but_tab_and_line_breaks():
    text = re.compile(TEXT_PATTERN)
    for char in CHARACTERS:
        expected = char in "\t\n\r" or not _is_control(char)
        assert bool(text.fullmatch(f"a{char}b")) == expected, hex(ord(char))


def test_every_string_of_a_request_body_has_a_documented_rule(client):
    """A new schema's text fields get a pattern without asking (Text); a plain
    String in a body has none, and must say why here."""
    spec = client.get("/openapi.json").get_json()
    # Every character of a password counts; the API refuses none but a lone surrogate.
    free = {("UserCreate", "password"), ("Login", "password")}
    bodies = {}  # a component's name, or the path of a body described inline (a form)
    for path, _method, operation in operations(spec):
        for content in operation.get("requestBody", {}).get("content", {}).values():
            schema = content["schema"]
            if "$ref" in schema:
                name = schema["$ref"].rsplit("/")[-1]
                bodies[name] = spec["components"]["schemas"][name]
            else:
                bodies[path] = schema
    assert {"UserCreate", "Login", "NotificationCreate", "WebhookPatch"} <= set(bodies)
    assert "/receipts/twilio" in bodies
    for name, schema in bodies.items():
        for field, prop in schema["properties"].items():
            prop = prop.get("items", prop)
            if prop.get("type") != "string" or (name, field) in free:
                continue
            assert {"pattern", "format", "enum"} & set(prop), (name, field)
