"""Which characters a text may hold: control characters and lone surrogates.

One rule for every text field of both services (the fields of notifier.web use it):
a single-line field (a title, a name, a description) holds no C0 or C1 control
character at all, line breaks and tabs included, and none of Unicode's own line and
paragraph separators; a body (`content`) may hold line feed, carriage return and tab,
and no other control character. Python's email library refuses a header holding any
line boundary of str.splitlines() (\\x0b, \\x0c, \\x1c-\\x1e, \\x85, \\u2028...), so a title
that passed a check for CR and LF alone failed at every try, for ever.

Each rule is one regular expression over code point ranges: Unicode's Cc category is
exactly U+0000-U+001F and U+007F-U+009F (stable by Unicode policy), and Cs (the UTF-16
surrogates, which JSON can smuggle in as ``"\\ud800"``) exactly U+D800-U+DFFF. A test
holds the ranges to `unicodedata` over every code point.
"""

from __future__ import annotations

import re

from notifier.channels.errors import ChannelError

# C0 (U+0000-U+001F), DEL and C1 (U+0080-U+009F): Unicode's Cc category, exactly.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_IN_BODY = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Cc or Cs: what an address or a number may never hold.
_CONTROL_OR_SURROGATE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def single_line_problem(value: str) -> str | None:
    """Why ``value`` cannot be a title or a name (None when it can): a control character."""
    if _CONTROL.search(value):
        return "Control characters (line breaks and tabs included) are not allowed."
    return None


def body_problem(value: str) -> str | None:
    """Why ``value`` cannot be a message body (None when it can): a control character
    other than line feed, carriage return and tab."""
    if _CONTROL_IN_BODY.search(value):
        return "Control characters other than line breaks and tabs are not allowed."
    return None


def check_single_line(field: str, value: str) -> None:
    """Raise :class:`ChannelError` naming ``field`` if ``value`` holds a control character."""
    problem = single_line_problem(value)
    if problem:
        raise ChannelError(field, f"The {field} must be one line of text. {problem}")


def check_body(field: str, value: str) -> None:
    """Raise :class:`ChannelError` naming ``field`` if ``value`` holds a control character
    other than a line break or a tab."""
    problem = body_problem(value)
    if problem:
        raise ChannelError(field, f"The {field} has a character it may not hold. {problem}")


def has_lone_surrogate(value: str) -> bool:
    """True if the text holds a UTF-16 surrogate (JSON ``"\\ud800"`` decodes to one)."""
    return _SURROGATE.search(value) is not None


def has_control_or_surrogate(value: str) -> bool:
    """True if the text holds a control character (Cc) or a surrogate (Cs)."""
    return _CONTROL_OR_SURROGATE.search(value) is not None
