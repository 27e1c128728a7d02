"""The email itself: the documented headers, a UTF-8 text body, addresses fit for SMTP.

Built with :class:`email.message.EmailMessage` and the ``SMTP`` policy (CRLF line
ends; non-ASCII subjects RFC 2047-encoded; the body quoted-printable or base64 as
needed), or the ``SMTPUTF8`` policy when an address needs it.

The email library refuses a header value it cannot write safely (one holding any
line boundary: CR, LF, vertical tab, form feed, the separators U+001C-U+001E, NEL,
U+2028...). The channel rules refuse those first; should one still get here, it is
:class:`HeaderRefused`, which names the field: the message can never be sent as it
is, so the provider answers a permanent 422 rather than retrying it for ever.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from email import errors
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import EmailPolicy

import idna

from delivery.providers.base import Delivery


class _HeaderClasses(HeaderRegistry):
    """The stdlib's header registry, but each header class is built once.

    ``HeaderRegistry`` creates a new class with ``type()`` for every header it
    parses, which made building a message cost more than sending it.
    """

    def __init__(self) -> None:
        super().__init__()
        self._built: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        built = self._built.get(key)
        if built is None:
            built = self._built[key] = super().__getitem__(name)
        return built


_HEADERS = _HeaderClasses()

LIST_UNSUBSCRIBE = "List-Unsubscribe"
LIST_UNSUBSCRIBE_POST = "List-Unsubscribe-Post"
ONE_CLICK = "List-Unsubscribe=One-Click"
# RFC 5322's hard limit of a header line, without its CRLF.
MAX_LINE_CHARS = 998
# The longest URL `List-Unsubscribe: <url>` can carry on one line: a URL has no whitespace
# to fold at, so this is also the longest the delivery schema accepts.
MAX_UNSUBSCRIBE_URL_CHARS = MAX_LINE_CHARS - len(f"{LIST_UNSUBSCRIBE}: <>")


class _Policy(EmailPolicy):
    """The SMTP policy, but ``List-Unsubscribe`` is written as it is, on one line.

    The library would fold a long URL into RFC 2047 encoded words, which a mail client
    cannot read back as a URL (RFC 2047 forbids them outside free text); a URL has no
    whitespace to fold at, so it stays whole (it is checked ASCII and short enough).
    """

    def fold(self, name: str, value: str) -> str:
        if name.lower() == LIST_UNSUBSCRIBE.lower():
            return f"{name}: {value}{self.linesep}"
        return super().fold(name, value)

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() == LIST_UNSUBSCRIBE.lower():
            return self.fold(name, value).encode("ascii")
        return super().fold_binary(name, value)


PLAIN_POLICY = _Policy(header_factory=_HEADERS).clone(linesep="\r\n")
UTF8_POLICY = PLAIN_POLICY.clone(utf8=True)


def ascii_address(address: str) -> tuple[str, bool]:
    """``(address for the envelope, needs SMTPUTF8)``: an IDN domain in its ASCII form."""
    local, _, domain = address.rpartition("@")
    if not domain.isascii():
        # An unencodable domain stays as it is: only an SMTPUTF8 server can take it.
        with contextlib.suppress(idna.IDNAError):
            domain = idna.encode(domain, uts46=True).decode("ascii")
    address = f"{local}@{domain}"
    return address, not address.isascii()


class HeaderRefused(ValueError):
    """The email library cannot write this message: ``field`` (``title``, ``target`` or
    None for the message as a whole) names the culprit, ``message`` says why."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# What the email library raises for a value it refuses (ValueError for a line break in a
# header, MessageError and its HeaderParseError for a value it cannot parse).
_REFUSALS = (ValueError, errors.MessageError)


def _set(message: EmailMessage, header: str, value: object, field: str) -> None:
    try:
        message[header] = value
    except _REFUSALS:
        # The library's text may quote the value; say what is wrong, not what it was.
        raise HeaderRefused(
            field,
            f"The email's {header} header cannot hold this {field}: it must be one line "
            "of text without control characters.",
        ) from None


def build_message(
    sender: str, delivery: Delivery, recipient: str, message_id: str, needs_utf8: bool
) -> bytes:
    """The message as sent: From, To, Subject (none when empty), Date, Message-ID, the
    one-click unsubscribe headers when the delivery has a URL for them, body.

    Raise :class:`HeaderRefused` when the email library refuses a value.
    """
    rules = UTF8_POLICY if needs_utf8 else PLAIN_POLICY
    message = EmailMessage(policy=rules)
    message["From"] = sender  # checked when the service started (EMAIL_FROM)
    _set(message, "To", delivery.target if needs_utf8 else recipient, "target")
    if delivery.title:
        _set(message, "Subject", delivery.title, "title")
    message["Date"] = datetime.now(UTC)
    message["Message-ID"] = f"<{message_id}>"
    if delivery.list_unsubscribe:
        _set_list_unsubscribe(message, delivery.list_unsubscribe)
    try:
        message.set_content(delivery.content, charset="utf-8")
        return message.as_bytes(policy=rules)
    except (*_REFUSALS, UnicodeError):
        raise HeaderRefused(None, "The email library cannot write this message.") from None


def _set_list_unsubscribe(message: EmailMessage, url: str) -> None:
    """``List-Unsubscribe: <url>`` and ``List-Unsubscribe-Post`` (RFC 8058 one-click)."""
    # The delivery schema refuses such a URL first; this guards any other caller.
    if len(url) > MAX_UNSUBSCRIBE_URL_CHARS or not url.isascii():
        raise HeaderRefused(
            "list_unsubscribe",
            f"The email's {LIST_UNSUBSCRIBE} header cannot hold this URL: it must be ASCII "
            f"and at most {MAX_UNSUBSCRIBE_URL_CHARS} characters long.",
        )
    value = f"<{url}>"
    _set(message, LIST_UNSUBSCRIBE, value, "list_unsubscribe")
    message[LIST_UNSUBSCRIBE_POST] = ONE_CLICK
