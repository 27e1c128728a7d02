"""Who may call the delivery service: the dispatcher, with ``DELIVERY_API_TOKEN``.

The service sends real email, SMS and push on the operator's provider accounts, and
``/stats/reset`` forgets which idempotency keys were already sent. So every route but
``/health`` (liveness, for orchestrators) and ``/metrics`` (guarded by its own
``METRICS_TOKEN``) needs ``Authorization: Bearer <DELIVERY_API_TOKEN>``; anything else
is a 401 in the one error shape, with ``WWW-Authenticate: Bearer``.

The check runs before every other hook of the app, so a refused request reads no body,
sleeps no simulated latency, sends nothing, claims no idempotency key and counts in no
statistic. This module is the one owner of the rule: the settings check at start,
the comparison (in constant time) and the list of open paths.

Without a token the service refuses to start, unless ``DELIVERY_ALLOW_UNAUTHENTICATED``
is on, which is for a development stack on one's own machine only (it logs a warning).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, g, request
from werkzeug.exceptions import Unauthorized

from notifier.web import http_error

log = logging.getLogger("delivery.auth")

MIN_TOKEN_CHARS = 32
# Liveness for orchestrators; /metrics answers to METRICS_TOKEN (and is 404 without it).
OPEN_PATHS = frozenset({"/health", "/metrics"})
_REFUSED = "A valid delivery service token is required (Authorization: Bearer DELIVERY_API_TOKEN)."
_GENERATE = 'generate one: python -c "import secrets; print(secrets.token_urlsafe(48))"'


class DeliveryAuthSettingsError(ValueError):
    """``DELIVERY_API_TOKEN`` is missing or unusable: a one-line reason naming it."""


def _enabled(value: Any) -> bool:
    return str(value or "").strip().lower() in {"1", "true", "yes", "on"}


def required_token(config: Mapping[str, Any]) -> str | None:
    """The token callers must present, or None when the service is knowingly left open.

    Raise :class:`DeliveryAuthSettingsError` when no usable token is set and
    ``DELIVERY_ALLOW_UNAUTHENTICATED`` is off.
    """
    token = str(config.get("DELIVERY_API_TOKEN") or "")
    if token:
        if len(token) < MIN_TOKEN_CHARS:
            raise DeliveryAuthSettingsError(
                f"DELIVERY_API_TOKEN must be at least {MIN_TOKEN_CHARS} characters "
                f"(it has {len(token)}); {_GENERATE}"
            )
        # It travels in an HTTP header: visible ASCII only.
        if not all("\x21" <= char <= "\x7e" for char in token):
            raise DeliveryAuthSettingsError(
                "DELIVERY_API_TOKEN may hold only visible ASCII characters (no spaces); "
                + _GENERATE
            )
        return token
    if _enabled(config.get("DELIVERY_ALLOW_UNAUTHENTICATED")):
        return None
    raise DeliveryAuthSettingsError(
        "DELIVERY_API_TOKEN is required (the same value on the worker); "
        f"{_GENERATE} (DELIVERY_ALLOW_UNAUTHENTICATED=1 leaves a local development stack open)"
    )


def _digest(value: bytes) -> bytes:
    # Comparing fixed-size digests keeps the time independent of the given token's length.
    return hashlib.sha256(value).digest()


def register_auth(app: Flask) -> None:
    """Check the settings (raise if unusable) and guard every route but the open ones."""
    token = required_token(app.config)
    if token is None:
        log.warning(
            "DELIVERY_ALLOW_UNAUTHENTICATED is on: anyone who reaches this service can send "
            "messages on its provider accounts (a local development stack only)"
        )
        return
    expected = _digest(token.encode("ascii"))

    def require_token() -> None:
        if request.path in OPEN_PATHS:
            return
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        # Header values arrive as latin-1 text; any byte sequence hashes.
        given = _digest(credentials.strip().encode("latin-1", errors="replace"))
        # Both sides compared even for a wrong scheme: no early exit to time.
        matches = hmac.compare_digest(given, expected)
        if not (matches and scheme.lower() == "bearer"):
            g.delivery_caller_refused = True
            raise http_error(Unauthorized, _REFUSED)

    # First of all hooks (the body limit, the simulated latency, the counters come after).
    app.before_request_funcs.setdefault(None, []).insert(0, require_token)


def caller_refused() -> bool:
    """True inside a request this module refused (its after-request hooks must not count it)."""
    return bool(g.get("delivery_caller_refused"))
