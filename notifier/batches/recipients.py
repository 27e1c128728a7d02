"""Checking a batch's recipients one at a time, with the single send's own rules.

Each recipient goes through the same steps as `POST /notifications` with a
template: the send schema's `target`, `reference` and `personalisation` fields,
the channel's target rule (`notifier.channels.normalize_target`), and the one
renderer (`notifier.templates.rendering`, its text compiled once per batch),
which applies every notification rule to the rendered text. A template that
uses `{{ unsubscribe_url }}` gets each recipient's own link, the one its
notification carries (`messages.unsubscribe_links`). Nothing here restates a rule.

It streams: a valid recipient becomes one small tuple (what the INSERT needs);
an invalid one adds its errors to the answer while fewer than `LISTED` rows are
listed, and is only counted after that. All or nothing: one invalid row and the
whole batch is refused (422), its message giving the number of invalid rows.

CSV is read with the standard `csv` module (RFC 4180 quoting, strict): the
first line is the header, with a `target` column, an optional `reference`
column, and every other column a personalisation key. A row is named by the
line it starts on (the header is line 1; a quoted field may span lines).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError
from werkzeug.exceptions import UnprocessableEntity

from notifier import channels
from notifier.batches.schemas import MAX_RECIPIENTS, SEND_FIELDS
from notifier.errors import unprocessable
from notifier.templates import rendering
from notifier.templates.texts import Text
from notifier.web import http_error

LISTED = 100
RECIPIENT_KEYS = ("target", "personalisation", "reference")
_MISSING = object()
# Renders remembered per batch: recipients often share their values (or a
# template has no placeholder at all), and a render is the costliest step.
_RENDER_CACHE_SIZE = 4096


@dataclass(slots=True)
class Recipient:
    """A checked recipient: what its notification stores."""

    target: str
    reference: str | None
    title: str
    content: str


@dataclass
class Checker:
    """Checks recipients of one template text; keeps the valid ones and the errors."""

    text: Text
    field_name: str  # where the errors are reported: `recipients` or `csv`
    # Each normalised target's unsubscribe link (None: the notifications carry none).
    links: Callable[[str], str] | None = None
    valid: list[Recipient] = field(default_factory=list)
    errors: dict[str, Any] = field(default_factory=dict)
    invalid: int = 0
    _compiled: rendering.Compiled | None = field(default=None, init=False, repr=False)
    _renders: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        try:
            self._compiled = rendering.compiled(
                self.text.channel, self.text.title, self.text.content
            )
        except rendering.TemplateSyntaxError as error:
            raise unprocessable(
                "template_id", f"The template cannot be rendered: {error}"
            ) from None
        if not self._compiled.uses_reserved:
            self.links = None  # no row renders its link: every render may be remembered

    def reject(self, position: str, errors: Any) -> None:
        self.invalid += 1
        if len(self.errors) < LISTED:
            self.errors[position] = errors

    def check(self, position: str, target: Any, personalisation: Any, reference: Any) -> None:
        """Check one recipient; keep it if valid, else record its errors."""
        errors: dict[str, list[str]] = {}
        target = self._field(SEND_FIELDS["target"], "target", target, errors)
        if target is not None:
            try:
                target = channels.normalize_target(self.text.channel, target)
            except channels.ChannelError as error:
                errors["target"] = [error.message]
        if reference is not _MISSING:
            reference = self._field(SEND_FIELDS["reference"], "reference", reference, errors)
        else:
            reference = None
        if personalisation is _MISSING:
            personalisation = {}
        else:
            personalisation = self._field(
                SEND_FIELDS["personalisation"], "personalisation", personalisation, errors
            )
        rendered = None
        if "personalisation" not in errors:
            link = None
            if self.links is not None and "target" not in errors:
                link = self.links(target)
            rendered = self._render(personalisation or {}, link)
            if isinstance(rendered, str):
                errors["personalisation"] = [rendered]
        if errors:
            self.reject(position, errors)
        elif not self.invalid:  # once one is invalid, nothing will be created
            self.valid.append(Recipient(target, reference, rendered.title, rendered.content))

    @staticmethod
    def _field(definition, name: str, value: Any, errors: dict) -> Any:
        try:
            return definition.deserialize(value)
        except ValidationError as error:
            errors[name] = error.messages if isinstance(error.messages, list) else [str(error)]
            return None

    def _render(self, personalisation: dict, link: str | None) -> rendering.Rendered | str:
        """The one renderer; its message when the values cannot make a message.
        Remembered by the values it uses, unless each row has its own link."""
        compiled = self._compiled
        key = None
        if self.links is None and not rendering.RESERVED.intersection(personalisation):
            key = tuple(
                (type(value), value)
                for value in (personalisation.get(name, _MISSING) for name in compiled.names)
            )
            try:
                found = self._renders.get(key)
            except TypeError:  # a list or an object as a value: not remembered
                key, found = None, None
            if found is not None:
                return found
        try:
            result: rendering.Rendered | str = compiled.render(
                personalisation, rendering.service_values(link)
            )
        except rendering.RenderError as error:
            result = error.message
        if key is not None and len(self._renders) < _RENDER_CACHE_SIZE:
            self._renders[key] = result
        return result

    def outcome(self) -> list[Recipient]:
        """The valid recipients, or 422 listing the invalid ones."""
        if not self.invalid:
            return self.valid
        rows = "row is" if self.invalid == 1 else "rows are"
        listed = "" if self.invalid <= LISTED else f" (the first {LISTED} are listed)"
        raise http_error(
            UnprocessableEntity,
            f"{self.invalid} {rows} invalid{listed}; nothing was created.",
            errors={"json": {self.field_name: self.errors}},
        )


def check_recipients(
    text: Text, items: list, links: Callable[[str], str] | None = None
) -> list[Recipient]:
    """The `recipients` list: zero-based positions as strings."""
    checker = Checker(text, "recipients", links)
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            checker.reject(str(index), {"_schema": ["A recipient is an object."]})
            continue
        unknown = [key for key in item if key not in RECIPIENT_KEYS]
        if unknown:
            checker.reject(str(index), {key: ["Unknown field."] for key in unknown})
            continue
        if "target" not in item:
            checker.reject(str(index), {"target": ["Missing data for required field."]})
            continue
        checker.check(
            str(index),
            item["target"],
            item.get("personalisation", _MISSING),
            item.get("reference", _MISSING),
        )
    return checker.outcome()


def check_csv(
    text: Text, source: str, links: Callable[[str], str] | None = None
) -> list[Recipient]:
    """The `csv` text: rows named by their line number (the header is line 1)."""
    checker = Checker(text, "csv", links)
    rows = _csv_rows(source)
    header = _header(next(rows, None))
    target = header.index("target")
    reference = header.index("reference") if "reference" in header else None
    keys = [
        (position, name)
        for position, name in enumerate(header)
        if position not in (target, reference)
    ]
    count = 0
    for line, row in rows:
        count += 1
        if count > MAX_RECIPIENTS:
            raise _csv_error(str(line), f"At most {MAX_RECIPIENTS} rows; this CSV has more.")
        if len(row) != len(header):
            fields = "field" if len(row) == 1 else "fields"
            checker.reject(
                str(line), {"_schema": [f"{len(row)} {fields}; the header has {len(header)}."]}
            )
            continue
        checker.check(
            str(line),
            row[target],
            {name: row[position] for position, name in keys},
            _MISSING if reference is None else (row[reference] or None),
        )
    if count == 0:
        raise _csv_error("2", "No recipients: give at least one row after the header.")
    return checker.outcome()


def _csv_rows(source: str) -> Iterator[tuple[int, list[str]]]:
    """(line the row starts on, its fields); 422 naming the line if it cannot be read."""
    if source.startswith("\ufeff"):
        source = source[1:]
    reader = csv.reader(io.StringIO(source, newline=""), strict=True)
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise _csv_error(str(start), f"This line cannot be read as CSV: {error}.") from None
        yield start, row


def _header(first: tuple[int, list[str]] | None) -> list[str]:
    if first is None:
        raise _csv_error("1", "The CSV is empty: its first line is the header.")
    header = [name.strip() for name in first[1]]
    problems = []
    if "target" not in header:
        problems.append("The header needs a `target` column.")
    if any(not name for name in header):
        problems.append("Every column of the header needs a name.")
    if len(set(header)) != len(header):
        problems.append("Each column name may appear once.")
    if problems:
        raise _csv_error("1", " ".join(problems))
    return header


def _csv_error(line: str, message: str):
    return http_error(UnprocessableEntity, message, errors={"json": {"csv": {line: [message]}}})
