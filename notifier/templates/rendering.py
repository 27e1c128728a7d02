"""The one renderer: `{{ name }}` placeholders, checked when saved and when rendered.

Preview, single sends and batches all render with `Compiled.render()`: one set of
rules. `render()` compiles and renders once; a batch compiles its text once
(`compiled()`) and renders every recipient with the compiled form.

The syntax is deliberately tiny. A placeholder is `{{`, optional spaces, a name
of 1-64 characters from `A-Z a-z 0-9 _` not starting with a digit, optional
spaces, `}}`. Any other `{{`, and any `{%` or `{#`, is an error, so a text that
parses holds literal text and names, nothing else. Rendering puts each value in
place of its name: a string as is, a number in its JSON form, nothing escaped.
There is no expression, filter, attribute or loop: a template cannot run code
or read anything it was not given.

Why a tokenizer of our own and not Jinja2's parser: proving "names only" with
Jinja means walking its AST and refusing every other node, over a lexer with
its own settings (whitespace control `{{- x -}}`, line statements, raw blocks),
and then rendering with something else anyway (Jinja's runtime would escape or
stringify `None`). The scan below is one regular expression applied left to
right, linear in the text (every match is bounded: 64 name characters), and
its whole language fits in the sentence above.

The rendered title and content must pass the notification rules exactly as a
notification written by hand does: this module runs them through the
notification schema's own `title` and `content` fields and the channel rules of
`notifier.channels` (the owners of those rules), never a copy of them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError

from notifier import channels
from notifier.notifications.schemas import NotificationCreateSchema

# `{{`, `{%` or `{#`: where a placeholder starts, or where the text is refused.
_OPENING = re.compile(r"\{[{%#]")
_PLACEHOLDER = re.compile(r"\{\{ *([A-Za-z_][A-Za-z0-9_]{0,63}) *\}\}")
SYNTAX = (
    "Placeholders are written {{ name }}: a name of 1 to 64 letters, digits or _, "
    "not starting with a digit"
)
# Filled by the service, never by the caller's personalisation.
UNSUBSCRIBE_URL = "unsubscribe_url"
RESERVED = frozenset({UNSUBSCRIBE_URL})

# The notification's own fields: their rules (length, one line, characters) are the rules.
_NOTIFICATION_FIELDS = NotificationCreateSchema().fields


class TemplateSyntaxError(ValueError):
    """A text that is not literal text and `{{ name }}` placeholders."""


class RenderError(ValueError):
    """The values cannot make a message: missing, of the wrong type, or the
    rendered text breaks a notification rule. `message` is for a person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Parsed:
    """A text cut at its placeholders: `parts` alternates literal text and names,
    starting and ending with literal text (possibly empty)."""

    parts: tuple[str, ...]

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.parts[1::2])


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message as a send stores it."""

    title: str
    content: str


def parse(text: str) -> Parsed:
    """Cut `text` at its placeholders; TemplateSyntaxError on any other `{{`, `{%`, `{#`."""
    parts: list[str] = []
    position = 0
    while (opening := _OPENING.search(text, position)) is not None:
        start = opening.start()
        if opening.group() != "{{":
            raise TemplateSyntaxError(
                f"{opening.group()} is not allowed (character {start + 1}): "
                "templates hold text and {{ name }} placeholders only."
            )
        placeholder = _PLACEHOLDER.match(text, start)
        if placeholder is None:
            raise TemplateSyntaxError(f"{SYNTAX}; the {{{{ at character {start + 1} is not one.")
        parts += (text[position:start], placeholder.group(1))
        position = placeholder.end()
    parts.append(text[position:])
    return Parsed(tuple(parts))


def placeholders(*texts: str) -> list[str]:
    """The sorted distinct names used in the texts (which must parse)."""
    return sorted(frozenset().union(*(parse(text).names for text in texts)))


def service_values(unsubscribe_url: str | None = None) -> dict[str, str]:
    """The values of the reserved names, which the service fills.

    `unsubscribe_url` is the notification's own `unsubscribe_url`; a notification
    without one (not asked for, not email, or no PUBLIC_BASE_URL) renders it as an
    empty string.
    """
    return {UNSUBSCRIBE_URL: unsubscribe_url or ""}


@dataclass(frozen=True, slots=True)
class Compiled:
    """A template's title and content parsed once, ready to render many times
    (a batch renders one text for every recipient)."""

    channel: str
    title: Parsed
    content: Parsed
    names: tuple[str, ...]  # every name used, sorted

    @property
    def uses_reserved(self) -> bool:
        """Whether a value the service fills appears (it differs per notification)."""
        return not RESERVED.isdisjoint(self.names)

    def render(
        self, personalisation: Mapping[str, Any], reserved: Mapping[str, str] | None = None
    ) -> Rendered:
        """See `render`."""
        reserved = service_values() if reserved is None else reserved
        given = sorted(name for name in RESERVED if name in personalisation)
        if given:
            raise RenderError(f"{_names(given)} filled by the service; leave it out.")
        texts: dict[str, str] = {}
        missing, wrong = [], []
        for name in self.names:  # sorted: so are the lists of names in the errors
            if name in reserved:
                value = reserved[name]
            elif name in personalisation:
                value = personalisation[name]
            else:
                missing.append(name)
                continue
            text = _as_text(value)
            if text is None:
                wrong.append(name)
            else:
                texts[name] = text
        if missing:
            raise RenderError(
                f"Missing {'a value' if len(missing) == 1 else 'values'} for {_names(missing)}."
            )
        if wrong:
            raise RenderError(
                f"{_names(wrong)} must be a string or a number "
                "(not null, true/false, a list or an object)."
            )
        return _checked(self.channel, _fill(self.title, texts), _fill(self.content, texts))


def compiled(channel: str, title: str, content: str) -> Compiled:
    """Parse `title` and `content` once; TemplateSyntaxError if either does not parse."""
    parsed_title, parsed_content = parse(title), parse(content)
    names = tuple(sorted(parsed_title.names | parsed_content.names))
    return Compiled(channel, parsed_title, parsed_content, names)


def render(
    channel: str,
    title: str,
    content: str,
    personalisation: Mapping[str, Any],
    reserved: Mapping[str, str] | None = None,
) -> Rendered:
    """The message that `title` and `content` make with these values.

    RenderError names every missing value at once, every value of a type that
    cannot be written, or the rendered field and the rule it breaks.
    TemplateSyntaxError if a stored text does not parse (checked again here).
    """
    return compiled(channel, title, content).render(personalisation, reserved)


def _names(names: list[str]) -> str:
    return ", ".join(names)


def _as_text(value: Any) -> str | None:
    """A string as is, a finite number in its JSON form; None for any other type."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return json.dumps(value)
    return None


def _fill(parsed: Parsed, texts: Mapping[str, str]) -> str:
    parts = list(parsed.parts)
    parts[1::2] = [texts[name] for name in parts[1::2]]
    return "".join(parts)


def _checked(channel: str, title: str, content: str) -> Rendered:
    """Apply every notification rule to the rendered text; return it as stored
    (the title trimmed, as the notification's title field does)."""
    rendered = {"title": title, "content": content}
    broken = []
    for field in ("title", "content"):
        try:
            rendered[field] = _NOTIFICATION_FIELDS[field].deserialize(rendered[field])
        except ValidationError as error:
            broken.append(f"the rendered {field}: {' '.join(_messages(error))}")
    if broken:
        raise RenderError(f"The values break a rule: {'; '.join(broken)}")
    try:
        channels.check_content(channel, rendered["title"], rendered["content"])
    except channels.ChannelError as error:
        raise RenderError(
            f"The values break a rule: the rendered {error.field}: {error.message}"
        ) from None
    return Rendered(rendered["title"], rendered["content"])


def _messages(error: ValidationError) -> list[str]:
    messages = error.messages
    if isinstance(messages, dict):
        return [str(message) for value in messages.values() for message in value]
    return [str(message) for message in messages]
