"""API key use cases: create (the only time the key is seen), list, read, delete.

Every function takes the caller's user id: another user's key is not found,
exactly like one that does not exist. Used by the routes, the `api-keys` CLI
command and the demo seed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from notifier import caps
from notifier.api_keys.credentials import PREFIX_CHARS, key_hash, new_key
from notifier.api_keys.models import DEFAULT_SCOPES, ApiKey, scope_mask, scopes_of
from notifier.database import transaction, utcnow
from notifier.errors import not_found
from notifier.extensions import db

NOT_FOUND = "API key not found."


def key_body(api_key: ApiKey, key: str | None = None) -> dict[str, Any]:
    """The key as the API shows it; `key` (the secret) only in the answer that creates it."""
    body = {
        "id": api_key.id,
        "name": api_key.name,
        "prefix": api_key.prefix,
        "mode": api_key.mode,
        "scopes": scopes_of(api_key.scope_mask),
        "created_at": api_key.created_at,
        "expires_at": api_key.expires_at,
        "last_used_at": api_key.last_used_at,
    }
    if key is not None:
        body["key"] = key
    return body


def create_key(
    user_id: int,
    name: str,
    scopes: Iterable[str] | None = None,
    mode: str = "live",
    expires_at: datetime | None = None,
) -> dict[str, Any]:
    """Make a key for the user; its body with the `key`, which is not stored.

    At most `caps.API_KEYS.limit` per user (422 over it), also when creates race.
    """
    key = new_key(mode)
    with transaction():
        caps.ensure_room(caps.API_KEYS, user_id, ApiKey.user_id)
        api_key = ApiKey(
            user_id=user_id,
            name=name,
            prefix=key[:PREFIX_CHARS],
            key_hash=key_hash(key),
            mode=mode,
            scope_mask=scope_mask(DEFAULT_SCOPES if scopes is None else scopes),
            created_at=utcnow(),
            expires_at=expires_at,
        )
        db.session.add(api_key)
        db.session.flush()
        body = key_body(api_key, key)
    return body


def list_keys(user_id: int) -> list[dict[str, Any]]:
    """The user's keys, newest first (ties: higher id first), without secrets."""
    with transaction():
        keys = db.session.scalars(
            select(ApiKey)
            .where(ApiKey.user_id == user_id)
            .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
        )
        return [key_body(api_key) for api_key in keys]


def get_key(user_id: int, key_id: int) -> dict[str, Any]:
    with transaction():
        api_key = db.session.scalars(
            select(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == user_id)
        ).first()
        if api_key is None:
            raise not_found(NOT_FOUND)
        return key_body(api_key)


def delete_key(user_id: int, key_id: int) -> None:
    """Delete the key: every process refuses it from its next request on, since
    each request reads the key's existence in its own statement. Notifications
    it created keep existing, with `api_key_id` set to null."""
    with transaction():
        result = db.session.execute(
            delete(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == user_id)
        )
        if result.rowcount != 1:
            raise not_found(NOT_FOUND)
