"""Email through an SMTP server (``EMAIL_PROVIDER=smtp``), with the standard library.

One message per delivery, built with :class:`email.message.EmailMessage`: ``From:
EMAIL_FROM`` (its address is the envelope sender), ``To``, ``Subject`` (none when the
title is empty), ``Date``, ``Message-ID: <id>`` and a UTF-8 ``text/plain`` body. The id
inside the angle brackets is the ``provider_message_id``.

A delivery with ``list_unsubscribe`` also carries ``List-Unsubscribe: <url>`` and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058).

Replies: 2xx is sent; 5xx is a 422 quoting the server (whether it blames the
recipient or the message: :func:`delivery.providers.refusals.smtp_kind`); 4xx, an
unreadable reply, a refused or dropped connection, a timeout and a TLS failure are
503. 530, 534, 535 and 538 (authentication refused or required) are refused
credentials: 503 and an error log. Sessions come from
:class:`~delivery.providers.smtp_pool.SmtpPool`; when a reused one turns out to have
been dropped before the server accepted anything, the message goes once more on a
fresh connection (it cannot be sent twice: the server never took the first try).
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
import uuid
from collections.abc import Mapping
from email.utils import parseaddr
from typing import Any

import delivery.providers.base as base
from delivery.idempotency import Answer
from delivery.providers.base import Delivery, ProviderSettingsError
from delivery.providers.refusals import MESSAGE, invalid, refused, smtp_kind
from delivery.providers.smtp_message import HeaderRefused, ascii_address, build_message
from delivery.providers.smtp_pool import Lease, PoolExhausted, SmtpPool

log = logging.getLogger("delivery.providers.smtp")

NAME = "smtp"
SECURITY_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
AUTH_REFUSED = frozenset({530, 534, 535, 538})
_NEEDED_BY = "EMAIL_PROVIDER=smtp"


class _DroppedBeforeMail(Exception):
    """A reused session was gone before the server accepted anything: try a fresh one."""


class SmtpProvider:
    """Sends each email over a pooled SMTP session."""

    name = NAME

    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: str,
        username: str,
        password: str,
        timeout_s: float,
        sender: str,
        ca_file: str = "",
        pool_size: int = 10,
    ) -> None:
        self.host, self.port, self.security = host, port, security
        self.username, self._password = username, password
        self.timeout_s = timeout_s
        self.sender_header = sender
        self.envelope_sender, _ = ascii_address(parseaddr(sender)[1])
        self.domain = self.envelope_sender.rpartition("@")[2]
        # Verification stays on: SMTP_CA_FILE only replaces the trusted authorities.
        try:
            self.tls = ssl.create_default_context(cafile=ca_file or None)
        except (OSError, ssl.SSLError) as exc:
            raise ProviderSettingsError(f"SMTP_CA_FILE cannot be read: {exc}") from None
        self.local_hostname = socket.gethostname()  # no DNS lookup, unlike getfqdn()
        self.pool = SmtpPool(self._open, size=pool_size, wait_s=timeout_s)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SmtpProvider:
        """Read the ``SMTP_*`` settings and ``EMAIL_FROM``; refuse missing or odd ones."""
        host = base.setting(config, "SMTP_HOST", _NEEDED_BY)
        sender = base.setting(config, "EMAIL_FROM", _NEEDED_BY)
        address = parseaddr(sender)[1]
        if "@" not in address or any(char in sender for char in "\r\n"):
            raise ProviderSettingsError(f"EMAIL_FROM must be an email address, got {sender!r}")
        security = base.optional(config, "SMTP_SECURITY", "starttls").lower()
        if security not in SECURITY_PORTS:
            allowed = ", ".join(SECURITY_PORTS)
            raise ProviderSettingsError(f"SMTP_SECURITY must be one of {allowed}; got {security!r}")
        port = base.number(config, "SMTP_PORT", SECURITY_PORTS[security])
        if port != int(port) or port > 65535:
            raise ProviderSettingsError(f"SMTP_PORT must be a TCP port, got {port:g}")
        username = base.optional(config, "SMTP_USERNAME")
        password = str(config.get("SMTP_PASSWORD") or "")
        if username and not password:
            raise ProviderSettingsError("SMTP_PASSWORD is required when SMTP_USERNAME is set")
        pool_size = base.number(config, "SMTP_POOL_SIZE", 10)
        if pool_size != int(pool_size):
            raise ProviderSettingsError(f"SMTP_POOL_SIZE must be a whole number, got {pool_size:g}")
        return cls(
            host=host,
            port=int(port),
            security=security,
            username=username,
            password=password,
            timeout_s=base.number(config, "SMTP_TIMEOUT_S", 10.0),
            sender=sender,
            ca_file=base.optional(config, "SMTP_CA_FILE"),
            pool_size=int(pool_size),
        )

    # --- sessions --------------------------------------------------------------------------

    def _open(self) -> smtplib.SMTP:
        """Connect, say EHLO, secure the session and log in, as configured."""
        if self.security == "ssl":
            connection: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=self.local_hostname,
                timeout=self.timeout_s,
                context=self.tls,
            )
        else:
            connection = smtplib.SMTP(
                self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout_s
            )
        try:
            connection.ehlo()
            if self.security == "starttls":
                connection.starttls(context=self.tls)
                connection.ehlo()
            if self.username:
                connection.login(self.username, self._password)
        except BaseException:
            connection.close()
            raise
        return connection

    def close(self) -> None:
        """QUIT every idle session."""
        self.pool.close()

    # --- one message -----------------------------------------------------------------------

    def send(self, delivery: Delivery) -> Answer:
        """Send one email; map the server's replies and every failure to an answer."""
        recipient, needs_utf8 = ascii_address(delivery.target)
        message_id = f"{uuid.uuid4()}@{self.domain}"
        # Built before any session: a message the email library refuses can never be
        # sent, so it is a 422 (not a retry) and costs the server nothing.
        try:
            body = build_message(self.sender_header, delivery, recipient, message_id, needs_utf8)
        except HeaderRefused as exc:
            return invalid(exc.message, exc.field)
        try:
            for fresh in (False, True):
                try:
                    with self.pool.lease(fresh=fresh) as lease:
                        return self._transaction(
                            lease, recipient, needs_utf8, body, message_id, delivery.details
                        )
                except _DroppedBeforeMail:
                    self.pool.discard_idle()  # the others are likely dead as well
            return base.unavailable("The mail server keeps closing the connection.")
        except PoolExhausted as exc:
            return base.unavailable(f"The mail server is busy: {exc}.")
        except smtplib.SMTPAuthenticationError as exc:
            return base.misconfigured(NAME, f"login refused: {exc.smtp_code} {_text(exc)}")
        except smtplib.SMTPNotSupportedError as exc:
            return base.misconfigured(NAME, f"the server does not support it: {exc}")
        except smtplib.SMTPServerDisconnected as exc:
            if isinstance(exc.__context__, TimeoutError):
                return self._timed_out()
            return base.unavailable(f"The mail server closed the connection: {base.clip(exc)}.")
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code in AUTH_REFUSED:
                return base.misconfigured(NAME, f"{exc.smtp_code} {_text(exc)}")
            return base.unavailable(
                f"The mail server refused the session: {exc.smtp_code} {_text(exc)}."
            )
        except ssl.SSLCertVerificationError as exc:
            return base.misconfigured(NAME, f"TLS certificate not trusted: {exc.verify_message}")
        except (ssl.SSLError, smtplib.SMTPException) as exc:
            return base.unavailable(f"The mail session failed: {base.clip(exc)}.")
        except TimeoutError:
            return self._timed_out()
        except OSError as exc:
            return base.unavailable(f"The mail server cannot be reached: {base.clip(exc)}.")

    def _timed_out(self) -> Answer:
        return base.unavailable(
            f"The mail server did not answer within {self.timeout_s:g} s (SMTP_TIMEOUT_S)."
        )

    def _transaction(
        self,
        lease: Lease,
        recipient: str,
        needs_utf8: bool,
        body: bytes,
        message_id: str,
        details: Mapping[str, Any],
    ) -> Answer:
        """MAIL, RCPT and DATA on one session; a refusal answers, an I/O error raises."""
        connection = lease.connection
        options: list[str] = []
        if needs_utf8:
            if not connection.has_extn("smtputf8"):
                # Our relay's limit, not the recipient's: another relay would take it.
                return refused(
                    "The mail server cannot take internationalised (SMTPUTF8) addresses.",
                    MESSAGE,
                )
            options = ["SMTPUTF8", "BODY=8BITMIME"]
        try:
            code, reply = connection.mail(self.envelope_sender, options)
        except smtplib.SMTPServerDisconnected:
            if lease.reused:
                raise _DroppedBeforeMail from None
            raise
        if code == 421 and lease.reused:  # "closing the channel": an idle session timed out
            lease.keep = False
            raise _DroppedBeforeMail
        if code != 250:
            return self._refused(lease, code, reply, "sender")
        code, reply = connection.rcpt(recipient)
        if code not in (250, 251):
            return self._refused(lease, code, reply, "recipient")
        try:
            code, reply = connection.data(body)
        except smtplib.SMTPDataError as exc:  # DATA itself refused
            return self._refused(lease, exc.smtp_code, exc.smtp_error, "message")
        if code != 250:
            return self._refused(lease, code, reply, "message")
        return base.sent(NAME, message_id, details)

    def _refused(self, lease: Lease, code: int, reply: bytes | str, stage: str) -> Answer:
        """A reply other than success to MAIL, RCPT or DATA."""
        text = _text(reply)
        if code in AUTH_REFUSED:
            lease.keep = False
            return base.misconfigured(NAME, f"{code} {text}")
        try:
            lease.connection.rset()  # end the transaction, keep the session
        except (smtplib.SMTPException, OSError):
            lease.keep = False
        if code == 421:
            lease.keep = False
        if 500 <= code <= 599:
            if stage == "sender":
                log.error("smtp: the server refused the sender EMAIL_FROM: %s %s", code, text)
            return refused(
                f"The mail server refused the message: {code} {text}",
                smtp_kind(code, text, stage),
            )
        if 400 <= code <= 499:
            return base.unavailable(f"The mail server deferred the message: {code} {text}")
        lease.keep = False  # an unreadable reply: the session is out of step
        return base.unavailable(f"The mail server gave an unreadable reply to the {stage}.")


def _text(reply: object) -> str:
    """A server reply (bytes or an exception's) as one clipped line."""
    if isinstance(reply, smtplib.SMTPResponseException):
        reply = reply.smtp_error
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", errors="replace")
    return base.clip(reply)
