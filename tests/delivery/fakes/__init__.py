"""Real servers for the provider tests, all on 127.0.0.1: SMTP (aiosmtpd) and HTTP fakes.

- :mod:`tests.delivery.fakes.smtp_server`: :class:`SmtpServer`, aiosmtpd in its own thread,
  with STARTTLS or implicit TLS, AUTH, and replies steered by the recipient.
- :mod:`tests.delivery.fakes.http_servers`: :class:`HttpFake`, a werkzeug server whose
  answer a test sets, and :class:`RawFake`, fixed bytes on every TCP connection.
"""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
