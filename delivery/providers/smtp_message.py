"""The email itself: the documented headers, a UTF-8 text body, addresses fit for SMTP.

Built with :class:`email.message.EmailMessage` and the ``SMTP`` policy (CRLF line
ends; non-ASCII subjects RFC 2047-encoded; the body quoted-printable or base64 as
needed), or the ``SMTPUTF8`` policy when an address needs it.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from email import policy
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage

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
PLAIN_POLICY = policy.SMTP.clone(header_factory=_HEADERS)
UTF8_POLICY = policy.SMTPUTF8.clone(header_factory=_HEADERS)


def ascii_address(address: str) -> tuple[str, bool]:
    """``(address for the envelope, needs SMTPUTF8)``: an IDN domain in its ASCII form."""
    local, _, domain = address.rpartition("@")
    if not domain.isascii():
        # An unencodable domain stays as it is: only an SMTPUTF8 server can take it.
        with contextlib.suppress(idna.IDNAError):
            domain = idna.encode(domain, uts46=True).decode("ascii")
    address = f"{local}@{domain}"
    return address, not address.isascii()


def build_message(
    sender: str, delivery: Delivery, recipient: str, message_id: str, needs_utf8: bool
) -> bytes:
    """The message as sent: From, To, Subject (none when empty), Date, Message-ID, body."""
    rules = UTF8_POLICY if needs_utf8 else PLAIN_POLICY
    message = EmailMessage(policy=rules)
    message["From"] = sender
    message["To"] = delivery.target if needs_utf8 else recipient
    if delivery.title:
        message["Subject"] = delivery.title
    message["Date"] = datetime.now(UTC)
    message["Message-ID"] = f"<{message_id}>"
    message.set_content(delivery.content, charset="utf-8")
    return message.as_bytes(policy=rules)
