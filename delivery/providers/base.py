"""What every provider shares: the delivery it is handed, the answers it gives, its settings.

A provider turns one :class:`Delivery` (a message that already passed its channel's
rules) into the provider's call, and the provider's reply into one of three
:class:`~delivery.idempotency.Answer` kinds:

- :func:`sent` (200), with the provider's own message id and ``details.provider``;
- a 422 from :mod:`delivery.providers.refusals` (``refused`` for the provider's own
  refusal, ``invalid`` for a broken rule): retrying it unchanged can never work (an
  unknown recipient, a token that is gone, a body the provider will not take). That
  module alone decides whether the refusal blames the recipient or the message;
- :func:`unavailable` (503 with ``Retry-After``): anything that may work later,
  including refused credentials, which :func:`misconfigured` also logs as an error
  because the message is not at fault and will go once the setting is fixed.

When a reply is ambiguous (no reply at all, an unreadable one), the answer is a
503: "rejected" would lose a message that may be fine.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from delivery.idempotency import Answer

log = logging.getLogger("delivery.providers")

DEFAULT_RETRY_AFTER_S = 30
MAX_RETRY_AFTER_S = 3600
# How much of a provider's reply goes into a message or a log line.
MAX_REPLY_CHARS = 300


class ProviderSettingsError(ValueError):
    """A provider was chosen without a setting it needs (or with one that makes no sense).

    The message is one line that names the setting; the service refuses to start.
    """


@dataclass(frozen=True)
class Delivery:
    """One message that passed its channel's rules, ready for a provider."""

    channel: str
    target: str  # normalised by the rules (E.164, normalised address, checked token)
    title: str | None
    content: str
    details: dict[str, Any]  # what the rules measured (bytes, segments, payload size)
    # Email only: the https URL of the one-click unsubscribe (RFC 8058 headers), if any.
    list_unsubscribe: str | None = None


class Provider(Protocol):
    """One channel's gateway to the outside world."""

    name: str

    def send(self, delivery: Delivery) -> Answer:
        """Deliver one message; return sent, rejected or unavailable, never raise for I/O."""
        ...

    def close(self) -> None:
        """Release connections (at shutdown and in tests)."""
        ...


def sent(provider: str, message_id: str, details: Mapping[str, Any]) -> Answer:
    """A 200: the provider took the message; ``sent_at`` is now, in UTC."""
    return Answer(
        200,
        {
            "status": "sent",
            "provider_message_id": message_id,
            "sent_at": datetime.now(UTC).isoformat(timespec="microseconds"),
            "details": {**details, "provider": provider},
        },
    )


def unavailable(message: str, retry_after_s: int = DEFAULT_RETRY_AFTER_S) -> Answer:
    """A 503 with ``Retry-After`` (whole seconds, at least 1)."""
    seconds = min(max(int(retry_after_s), 1), MAX_RETRY_AFTER_S)
    return Answer(503, {"message": message}, {"Retry-After": str(seconds)})


def misconfigured(provider: str, reason: str) -> Answer:
    """A 503 for a problem of our settings (refused credentials, a wrong sender): log it."""
    log.error("%s: configuration error: %s", provider, reason)
    return unavailable(
        f"The {provider} provider refused our settings ({reason}); the message will be "
        "sent once the delivery service's configuration is fixed.",
        retry_after_s=60,
    )


def new_message_id(prefix: str) -> str:
    """An id of our own, for providers that do not name the message themselves."""
    return f"{prefix}-{uuid.uuid4()}"


def clip(text: object) -> str:
    """A provider's reply made safe for a message: one line, bounded length."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= MAX_REPLY_CHARS else flat[: MAX_REPLY_CHARS - 1] + "…"


def retry_after_seconds(header: str | None, default: int = DEFAULT_RETRY_AFTER_S) -> int:
    """``Retry-After`` as the provider sent it: seconds or an HTTP date; else ``default``."""
    if not header:
        return default
    value = header.strip()
    if value.isdigit():
        return int(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(int((when - datetime.now(UTC)).total_seconds()), 1)


# --- settings ------------------------------------------------------------------------------


def setting(config: Mapping[str, Any], name: str, needed_by: str) -> str:
    """A required text setting; :class:`ProviderSettingsError` naming it when it is empty."""
    value = str(config.get(name) or "").strip()
    if not value:
        raise ProviderSettingsError(f"{name} is required when {needed_by}")
    return value


def optional(config: Mapping[str, Any], name: str, default: str = "") -> str:
    """An optional text setting (an empty value means the default)."""
    return str(config.get(name) or "").strip() or default


def number(config: Mapping[str, Any], name: str, default: float, *, minimum: float = 0.0) -> float:
    """A numeric setting, refused (naming it) unless it is a number above ``minimum``."""
    raw = config.get(name)
    if raw is None or str(raw).strip() == "":
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ProviderSettingsError(f"{name} must be a number, got {raw!r}") from None
    if not value > minimum:
        raise ProviderSettingsError(f"{name} must be greater than {minimum:g}, got {raw!r}")
    return value


def public_base_url(config: Mapping[str, Any]) -> str:
    """``PUBLIC_BASE_URL`` without a trailing slash ("" when unset); refused (naming it)
    unless it is an absolute http(s) URL without a query or fragment."""
    raw = str(config.get("PUBLIC_BASE_URL") or "").strip()
    if not raw:
        return ""
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018  (a port that is not a number raises here)
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or not raw.isascii()
        or not raw.isprintable()
        or " " in raw
    ):
        raise ProviderSettingsError(
            f"PUBLIC_BASE_URL must be an absolute http(s) URL such as "
            f"https://notifier.example.com, got {raw!r}"
        )
    return raw.rstrip("/")
