"""A real SMTP server for the provider tests, on 127.0.0.1: aiosmtpd in its own thread.

:class:`SmtpServer` optionally speaks STARTTLS or implicit TLS on a certificate of a
throw-away CA (trustme) and requires AUTH. Recipients steer its replies: ``refuse@``
550 5.1.1, ``notallowed@`` 553 (no enhanced code), ``relay@`` 550 5.7.1 (policy),
``later@`` 451, ``drop@`` closes the connection instead of answering, ``garbage@`` answers
a line that is no SMTP reply, ``hang@`` answers nothing for a while; after DATA,
``spam@`` 554 5.7.1, ``big@`` 552 (no enhanced code), ``gone@`` 550 5.1.1. Every accepted
message is kept.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import itertools
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.delivery.fakes import free_port

USERNAME = "notifier"
PASSWORD = "correct horse battery staple"


@dataclass
class Received:
    """One message the SMTP server accepted."""

    session: int
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


# Replies to DATA, steered by the recipient's local part.
_DATA_REFUSALS = {
    "spam": "554 5.7.1 Message rejected as spam",
    "big": "552 Message size exceeds fixed maximum message size",
    "gone": "550 5.1.1 The email account that you tried to reach does not exist",
}


@dataclass
class _Handler:
    """aiosmtpd hooks: replies steered by the recipient's local part."""

    received: list[Received] = field(default_factory=list)
    connections: list[Any] = field(default_factory=list)
    data_delay_s: float = 0.0
    release: asyncio.Event | None = None
    _numbers: itertools.count = field(default_factory=itertools.count)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        if not hasattr(session, "number"):
            session.number = next(self._numbers)
            self.connections.append(server)
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0]
        if local == "refuse":
            return "550 5.1.1 <refuse@example.com>: Recipient address rejected"
        if local == "notallowed":
            return "553 Requested action not taken: mailbox name not allowed"
        if local == "relay":
            return "550 5.7.1 Relaying denied"
        if local == "later":
            return "451 4.3.0 Mailbox temporarily unavailable"
        if local == "drop":
            server.transport.close()
            return "250 never seen"
        if local == "garbage":
            return "I am not an SMTP server"
        if local == "hang":
            await asyncio.sleep(3)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_delay_s:
            await asyncio.sleep(self.data_delay_s)
        refusal = _DATA_REFUSALS.get(envelope.rcpt_tos[0].split("@")[0])
        if refusal:
            return refusal
        self.received.append(
            Received(session.number, envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
        )
        return "250 2.0.0 Ok: queued"


def _authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USERNAME.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535


class SmtpServer:
    """A real SMTP server on 127.0.0.1 (``security``: ``starttls``, ``ssl`` or ``none``)."""

    def __init__(
        self, tmp: Path, *, security: str = "starttls", auth: bool = True, smtputf8: bool = True
    ) -> None:
        self.security = security
        self.smtputf8 = smtputf8
        self.port = free_port()
        self.handler = _Handler()
        self.ca = trustme.CA()
        self.ca_file = tmp / "smtp-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        self._auth = auth
        self._controller: Controller | None = None

    def _server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        return context

    def start(self) -> SmtpServer:
        kwargs: dict[str, Any] = {
            "hostname": "127.0.0.1",
            "port": self.port,
            "enable_SMTPUTF8": self.smtputf8,
        }
        if self.security == "starttls":
            kwargs |= {"tls_context": self._server_context(), "require_starttls": True}
        elif self.security == "ssl":
            kwargs |= {"ssl_context": self._server_context()}
        if self._auth:
            kwargs |= {
                "authenticator": _authenticate,
                "auth_required": True,
                # With implicit TLS aiosmtpd cannot tell that the socket is TLS.
                "auth_require_tls": self.security == "starttls",
            }
        self._controller = Controller(self.handler, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self.drop_connections()
            self._controller.stop()
            self._controller = None

    def drop_connections(self) -> None:
        """Close every client connection from the server's side (as a restart would)."""
        loop = self._controller.loop
        done = threading.Event()

        def _close() -> None:
            for server in self.handler.connections:
                if server.transport is not None:
                    server.transport.close()
            done.set()

        loop.call_soon_threadsafe(_close)
        done.wait(5)

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """The delivery app's settings for sending through this server."""
        settings = {
            "EMAIL_PROVIDER": "smtp",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.port),
            "SMTP_SECURITY": self.security,
            "SMTP_CA_FILE": str(self.ca_file),
            "SMTP_TIMEOUT_S": "2",
            "EMAIL_FROM": "Notifier <no-reply@notifier.test>",
            "SMTP_USERNAME": USERNAME if self._auth else "",
            "SMTP_PASSWORD": PASSWORD if self._auth else "",
        }
        return {**settings, **overrides}
