"""The account email: its one canonical form, for register, login and the login rate limit.

An account email is stored as `channels.normalize_email` makes a notification
target (trimmed, syntax checked, the domain IDNA-normalised to its Unicode form,
the local part NFC) and then lower-cased whole, so that unique means unique in
any case. Registration stores `canonical()`; a login looks up, and the rate limit
counts under, `lookup_form()`, which is the same string for every spelling of a
registered address: `user@XN--BCHER-KVA.DE`, `user@bücher.de` and
` User@Bücher.DE ` all become `user@bücher.de`.
"""

from __future__ import annotations

from marshmallow import ValidationError

from notifier import channels
from notifier.schemas import Text, encodable

MAX_LENGTH = 320


def canonical(value: str) -> str:
    """The stored form of an account email; `channels.ChannelError` (a ValueError)
    when it is not an address."""
    return channels.normalize_email(value.strip()).lower()


def lookup_form(value: str) -> str:
    """What a login looks up: `canonical(value)`, or for text that is not an
    address, the text trimmed and lower-cased (no account has it: a 401).

    ASCII text without an IDNA label ("xn--") skips the parser: `email_validator`
    changes neither the local part of such an address nor its domain beyond
    lower case, so its canonical form is its lower-cased self (a test holds the
    two paths to the same answers). That keeps the parser's cost off the
    common login, whose CPU budget is the password hash.
    """
    text = value.strip().lower()
    if text.isascii() and "xn--" not in text:
        return text
    try:
        return canonical(value)
    except channels.ChannelError:
        return text


class AccountEmail(Text):
    """An email field that loads as its canonical form.

    `lookup=False` (registration): an invalid address is a validation error of
    this field, reported with the body's other errors in the one 422.
    `lookup=True` (login): any text up to `MAX_LENGTH` loads as `lookup_form`;
    only text no database can hold (NUL, a lone surrogate) or too long is a 422.
    """

    def __init__(self, *, lookup: bool = False, **kwargs) -> None:
        super().__init__(trim=True, **kwargs)
        self.lookup = lookup

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        # Checked before any parsing: the cost of a hostile 60 KB email stays flat.
        if len(text) > MAX_LENGTH:
            raise ValidationError(f"Longer than maximum length {MAX_LENGTH}.")
        if "\x00" in text:
            raise ValidationError("NUL characters are not allowed.")
        encodable(text)
        if self.lookup:
            return lookup_form(text)
        try:
            return canonical(text)
        except channels.ChannelError as error:
            raise ValidationError(error.message) from None
