"""The renderer alone: the placeholder syntax, values, and the notification rules."""

from __future__ import annotations

import re

import pytest

from notifier.templates.rendering import (
    RenderError,
    TemplateSyntaxError,
    compiled,
    parse,
    placeholders,
    render,
    service_values,
)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("No placeholder at all", set()),
        ("{{name}}", {"name"}),
        ("{{ name }}", {"name"}),
        ("{{     name  }}", {"name"}),
        ("{{ _a1 }} and {{ B_2 }}", {"_a1", "B_2"}),
        ("{{ " + "a" * 64 + " }}", {"a" * 64}),
        ("Braces alone are text: { } }} {a} {", set()),
        ('A JSON body {"a": {"b": 1}}', set()),
    ],
)
def test_a_text_of_literals_and_names_parses(text, names):
    assert parse(text).names == names


@pytest.mark.parametrize(
    "text",
    [
        "{{ }}",
        "{{ 1abc }}",
        "{{ " + "a" * 65 + " }}",
        "{{ user.name }}",
        "{{ name|upper }}",
        "{{ name() }}",
        "{{ a b }}",
        "{{ a + b }}",
        "{{ name",
        "{{{ name }}}",
        "{{-name-}}",
        "{{ 'text' }}",
        "{{ nâme }}",
        "{{\tname }}",
        "{% if a %}x{% endif %}",
        "{# a comment #}",
        "{%",
        "{#",
        "{{ a }}{{ b }}{{",
    ],
)
def test_anything_else_in_braces_is_a_syntax_error(text):
    with pytest.raises(TemplateSyntaxError):
        parse(text)


def test_a_syntax_error_says_where():
    with pytest.raises(TemplateSyntaxError, match="character 7"):
        parse("Hello {{ a.b }}")


def test_a_hundred_thousand_braces_are_refused_not_scanned_forever():
    with pytest.raises(TemplateSyntaxError):
        parse("{" * 100_000)
    with pytest.raises(TemplateSyntaxError):
        parse("{{ " + " " * 100_000)
    assert parse("}" * 100_000).names == frozenset()


def test_placeholders_are_the_sorted_distinct_names_of_every_text():
    assert placeholders("{{ b }} {{ a }}", "{{ b }} {{ c }}") == ["a", "b", "c"]


def _render(title, content, channel="email", **values):
    return render(channel, title, content, values)


def test_values_replace_their_names_strings_as_is_numbers_in_json_form():
    rendered = _render(
        "Order {{ order }}",
        "{{ a }} {{ b }} {{ c }} {{ d }} {{ e }}",
        order=42,
        a="<b>&amp;</b> {{ not_a_placeholder }}",
        b=1.5,
        c=-3,
        d=1e100,
        e=10**30,
    )
    assert rendered.title == "Order 42"
    assert rendered.content == (
        "<b>&amp;</b> {{ not_a_placeholder }} 1.5 -3 1e+100 1000000000000000000000000000000"
    )


def test_unused_values_are_ignored():
    assert _render("Hi", "Hi {{ a }}", a="x", unused=[1, {"b": None}]).content == "Hi x"


def test_every_missing_value_is_named_at_once():
    with pytest.raises(RenderError) as error:
        _render("{{ b }}", "{{ a }} {{ c }} {{ a }}", c="x")
    assert error.value.message == "Missing values for a, b."


@pytest.mark.parametrize("value", [None, True, False, [1], {"a": 1}, float("nan"), float("inf")])
def test_a_value_that_is_not_a_string_or_a_finite_number_is_refused(value):
    with pytest.raises(RenderError, match="must be a string or a number"):
        _render("Hi", "{{ a }}", a=value)


def test_unsubscribe_url_is_filled_by_the_service():
    assert _render("Hi", "Stop: {{ unsubscribe_url }}").content == "Stop: "
    reserved = service_values("https://n.example.com/unsubscribe/t")
    rendered = render("email", "Hi", "Stop: {{ unsubscribe_url }}", {}, reserved)
    assert rendered.content == "Stop: https://n.example.com/unsubscribe/t"
    with pytest.raises(RenderError, match="unsubscribe_url filled by the service"):
        _render("Hi", "{{ unsubscribe_url }}", unsubscribe_url="https://mine.example.com")


def test_the_rendered_title_is_trimmed_as_a_notification_title_is():
    assert _render("{{ a }}", "x", a="  Spaced  ").title == "Spaced"


@pytest.mark.parametrize(
    ("title", "content", "channel", "values", "rule"),
    [
        (
            "{{ a }}",
            "x",
            "email",
            {"a": "t" * 201},
            "the rendered title: Length must be between 1 and 200",
        ),
        ("{{ a }}", "x", "email", {"a": ""}, "the rendered title: Length must be between"),
        ("{{ a }}", "x", "email", {"a": "two\nlines"}, "the rendered title: Control characters"),
        (
            "T",
            "{{ a }}",
            "email",
            {"a": "c" * 5001},
            "the rendered content: Length must be between 1 and 5000",
        ),
        ("T", "{{ a }}", "email", {"a": "\x00"}, "the rendered content: NUL"),
        ("{{ a }}", "x", "email", {"a": "\ud800"}, "the rendered title: Not valid Unicode"),
        ("T", "{{ a }}", "sms", {"a": "é" * 1531}, "the rendered content: The SMS needs 11"),
        ("T", "{{ a }}", "push", {"a": "p" * 4096}, "the rendered content: The push payload"),
    ],
)
def test_the_rendered_text_must_pass_every_notification_rule(title, content, channel, values, rule):
    with pytest.raises(RenderError, match=rule):
        render(channel, title, content, values)


def test_a_stored_text_is_checked_again_when_rendered():
    with pytest.raises(TemplateSyntaxError):
        _render("Hi", "{% raw %}")


def test_a_compiled_text_renders_each_set_of_values_as_render_does():
    title, content = "Hi {{ name }}", "{{ code }}: {{ unsubscribe_url }}"
    text = compiled("sms", title, content)
    assert (text.names, text.uses_reserved) == (("code", "name", "unsubscribe_url"), True)
    cases = [{"name": "Ann", "code": 1}, {"name": "Bob"}, {"name": None, "code": 2}]
    for values in cases:
        for reserved in (None, service_values("https://n.example.com/unsubscribe/t")):
            try:
                expected = render("sms", title, content, values, reserved)
            except RenderError as error:
                with pytest.raises(RenderError, match=re.escape(error.message)):
                    text.render(values, reserved)
            else:
                assert text.render(values, reserved) == expected
    assert compiled("email", "Hi", "{{ a }}").uses_reserved is False
