"""Unsubscribe tokens and links: signed, so they can be neither guessed nor altered.

A token is [user id, channel, target, sandbox] signed with itsdangerous, keyed with
`SECRET_KEY` or, when it is unset, a key derived from `JWT_SECRET_KEY` (never
that key itself, so a token of one kind can never pass as the other). The same
notification always yields the same link, so it is derived where it is shown
(the answer, the webhook payload, the dispatcher's request) rather than stored.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from typing import Any

from flask import current_app, has_app_context
from itsdangerous import BadData, URLSafeSerializer

from notifier.channels import CHANNELS, EMAIL

SALT = "notifier.unsubscribe"
MAX_TOKEN_CHARS = 8192


def secret(config: Mapping[str, Any]) -> str:
    """The app's signing key (unsubscribe tokens, the console's session cookie):
    SECRET_KEY, or one derived from JWT_SECRET_KEY (never the JWT key itself)."""
    own = config.get("SECRET_KEY")
    if own:
        return own
    jwt_key = (config.get("JWT_SECRET_KEY") or "").encode()
    return hmac.new(jwt_key, b"notifier secret key", hashlib.sha256).hexdigest()


def _serializer(config: Mapping[str, Any]) -> URLSafeSerializer:
    return URLSafeSerializer(secret(config), salt=SALT)


def linker(
    config: Mapping[str, Any], user_id: int, channel: str, wanted: bool, sandbox: bool = False
) -> Callable[[str], str] | None:
    """The link of each target of one sender, or None when these notifications
    carry none (not wanted, not email, or no PUBLIC_BASE_URL).

    A batch signs one link per recipient: the serializer is built once here.
    A sandbox notification's link names it as such: using it suppresses nothing.
    """
    base = (config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    if not (wanted and channel == EMAIL and base):
        return None
    dumps = _serializer(config).dumps
    prefix = f"{base}/unsubscribe/"
    signed = bool(sandbox)

    def link_of(target: str) -> str:
        return prefix + dumps([user_id, channel, target, signed])

    return link_of


def link(
    config: Mapping[str, Any],
    user_id: int,
    channel: str,
    target: str,
    wanted: bool,
    sandbox: bool = False,
) -> str | None:
    """`{PUBLIC_BASE_URL}/unsubscribe/<token>` for a wanted email link, else None."""
    link_of = linker(config, user_id, channel, wanted, sandbox)
    return None if link_of is None else link_of(target)


def header_link(link: str | None) -> str | None:
    """The link an email may carry as its List-Unsubscribe header, or None.

    RFC 8058's one-click headers need an https URL (so does the delivery service),
    so with an http `PUBLIC_BASE_URL` (a development stack) the email goes without
    them; the notification's `unsubscribe_url` and the template placeholder keep it.
    """
    return link if link and link.startswith("https://") else None


def current_link(
    user_id: int, channel: str, target: str, wanted: bool, sandbox: bool = False
) -> str | None:
    """`link` with the running app's settings (None outside an app)."""
    if not wanted or not has_app_context():
        return None
    return link(current_app.config, user_id, channel, target, wanted, sandbox)


def current_linker(
    user_id: int, channel: str, wanted: bool, sandbox: bool = False
) -> Callable[[str], str] | None:
    """`linker` with the running app's settings (None outside an app)."""
    if not wanted or not has_app_context():
        return None
    return linker(current_app.config, user_id, channel, wanted, sandbox)


def verify(config: Mapping[str, Any], token: str) -> tuple[int, str, str, bool] | None:
    """(user id, channel, target, sandbox) of a token that verifies; None for any other."""
    if len(token) > MAX_TOKEN_CHARS:
        return None
    try:
        value = _serializer(config).loads(token)
    except BadData:
        return None
    if not (isinstance(value, list) and len(value) == 4):
        return None
    user_id, channel, target, sandbox = value
    if type(user_id) is not int or channel not in CHANNELS or not isinstance(target, str):
        return None
    if not isinstance(sandbox, bool):
        return None
    return user_id, channel, target, sandbox
