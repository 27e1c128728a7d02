"""The `Idempotency-Key` store of `POST /notifications` and `POST /batches`: replay
and store (the worker's purge of old keys is in `retention`).

The first request's answer is stored beside its notification, in the same
transaction; the unique (user, key) index makes two racing requests create one
notification (the loser's insert fails and it replays). Reads and writes are
the caller's, through `notifier.auth.ownership`: a revoked credential replays
nothing and stores nothing.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Connection, bindparam, delete, insert, select

from notifier.auth.ownership import nothing_matched, owned, run
from notifier.auth.principal import current_principal
from notifier.database import utcnow
from notifier.errors import unprocessable
from notifier.notifications.models import IdempotencyKey

_KEYS = IdempotencyKey.__table__


def request_hash(data: dict) -> str:
    """A digest of the parsed body: the same key with another body is refused.

    A test key's request is another request than the same body sent live: its
    digest differs, so that a test key reusing a live request's key gets a 422,
    not the live notification's stored body (to a test key it does not exist).
    """
    canonical = data
    if current_principal().sandbox:
        # Not a body field name (the schema refuses unknown fields): no collision.
        canonical = {"": "sandbox", **canonical}
    # surrogatepass: a lone surrogate in a value no field reads (an unused
    # personalisation key) must not make the digest fail.
    encoded = json.dumps(canonical, sort_keys=True, ensure_ascii=False, default=_isoformat).encode(
        "utf-8", "surrogatepass"
    )
    return hashlib.sha256(encoded).hexdigest()


def _isoformat(value: object) -> str:
    """A loaded timestamp (`scheduled_at`, at any depth: a batch nests its body) as text."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} has no place in a request digest")


_STORED = owned(
    lambda owner, valid: select(
        _KEYS.c.id, _KEYS.c.request_hash, _KEYS.c.response_body, _KEYS.c.created_at
    ).where(_KEYS.c.user_id == owner, _KEYS.c.key == bindparam("key"), valid),
    "idempotency.stored",
)
_FORGET = owned(
    lambda owner, valid: delete(_KEYS).where(
        _KEYS.c.id == bindparam("key_id"), _KEYS.c.user_id == owner, valid
    ),
    "idempotency.forget",
)


def replay(key: str, digest: str) -> dict | None:
    """The stored answer for this key, or None when the key is new or expired (or
    the credential is no longer valid: the insert that follows then refuses it)."""
    record = run(_STORED, {"key": key}, lambda result: result.first())
    if record is None:
        return None
    ttl = timedelta(seconds=current_app.config["IDEMPOTENCY_KEY_TTL_S"])
    if record.created_at < utcnow() - ttl:
        run(_FORGET, {"key_id": record.id}, lambda result: result.rowcount)
        return None
    if record.request_hash != digest:
        raise unprocessable(
            "Idempotency-Key",
            "This Idempotency-Key was used with a different request body.",
            location="headers",
        )
    return record.response_body


_STORED_COLUMNS = ("key", "request_hash", "notification_id", "response_code", "response_body")


def _store(owner, valid):
    values = select(
        owner.label("user_id"),
        *(bindparam(name, type_=_KEYS.c[name].type).label(name) for name in _STORED_COLUMNS),
        bindparam("created_at", type_=_KEYS.c.created_at.type).label("created_at"),
    ).where(valid)
    return insert(_KEYS).from_select(list(values.selected_columns.keys()), values)


_STORE = owned(_store, "idempotency.store")


def store(
    key: str, digest: str, body: dict, connection: Connection, *, notification: bool = True
) -> None:
    """Keep the answer `body` (a 201) for `key`, in the transaction of `connection`.
    `notification`: the body is a notification's, linked by its id (a batch's is not).

    Raises IntegrityError when a racing request stored this key first, and 401
    when the credential was revoked since the notification's insert.
    """
    params = {
        "key": key,
        "request_hash": digest,
        "notification_id": body["id"] if notification else None,
        "response_code": 201,
        "response_body": body,
        "created_at": utcnow(),
    }
    if run(_STORE, params, lambda result: result.rowcount, connection) != 1:
        # Revoked between the two statements: the transaction rolls back.
        raise nothing_matched(RuntimeError("the key was not stored for a valid caller"))
