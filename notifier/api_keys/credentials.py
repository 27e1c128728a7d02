"""API keys as credentials: making one, hashing it, and finding the key a request names.

A key is `ntf_live_` or `ntf_test_` followed by 43 characters of `A-Z a-z 0-9`
drawn with `secrets` (256 bits). Only its SHA-256 is stored. A password needs a
slow, salted hash because people choose few and guessable ones, and a stolen
table can be attacked one guess at a time; a key has 256 random bits, so there
is nothing to guess and no table of precomputed hashes can cover it: a fast
hash loses nothing, and it is checked on every request, where a password hash
would cost as much CPU as a login each time.

`authenticate` turns a presented key into its `Principal`. A key's attributes
(owner, scopes, mode, expiry) never change, so they are remembered per process
after the first look-up, by the key's hash. Whether the key still exists is
never remembered: `notifier.auth.principal.VALIDITY` reads it in the request's
own statement, so a deleted key is refused at once by every process and host. That
read names the key by its id and its hash: a remembered key can never pass for
another row that got the same id.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from threading import Lock

from flask import current_app
from sqlalchemy import bindparam, or_, select, update
from werkzeug.exceptions import Unauthorized

from notifier.api_keys.models import ApiKey, scopes_of
from notifier.database import UTCDateTime, async_commit, autocommit, utcnow
from notifier.web import BEARER, http_error

KEY_START = "ntf_"
PREFIXES = {"live": "ntf_live_", "test": "ntf_test_"}
RANDOM_CHARS = 43  # 43 x log2(62) = 256 bits
PREFIX_CHARS = 16
_ALPHABET = string.ascii_letters + string.digits
_FORMAT = re.compile(r"ntf_(?:live|test)_[A-Za-z0-9]{40,64}")
_MAX_CHARS = 9 + 64
# `last_used_at` is a hint: written at most once per interval per key.
TOUCH_INTERVAL_S = 60.0
_MEMO_SIZE = 2048

INVALID = "The API key is not valid (unknown, deleted or malformed)."
EXPIRED = "The API key has expired."
NOT_HERE = (
    "API keys work on the /notifications routes and template reads only; use an access token here."
)
MISSING_SCOPE = "This API key does not have the {scope} scope."


def new_key(mode: str) -> str:
    """A new key of `mode` ("live" or "test")."""
    return PREFIXES[mode] + "".join(secrets.choice(_ALPHABET) for _ in range(RANDOM_CHARS))


def key_hash(key: str) -> str:
    """Hex SHA-256 of the key: what is stored and looked up (see the module docstring)."""
    return hashlib.sha256(key.encode()).hexdigest()


def is_key(credential: str) -> bool:
    """Whether a bearer credential is meant as an API key (a JWT starts with `ey`)."""
    return credential.startswith(KEY_START)


def refuse(message: str = INVALID) -> Unauthorized:
    """The 401 of a key: a fixed sentence, never the key itself."""
    return http_error(Unauthorized, message, headers=BEARER)


@dataclass(slots=True)
class _Known:
    """A key this process has looked up: its immutable attributes, and when (Unix
    time) this process last wrote `last_used_at` or read it from the database."""

    api_key_id: int
    key_hash: str
    user_id: int
    scopes: frozenset[str]
    sandbox: bool
    expires: float | None
    touched: float


_BY_HASH = select(
    ApiKey.id,
    ApiKey.user_id,
    ApiKey.key_hash,
    ApiKey.mode,
    ApiKey.scope_mask,
    ApiKey.expires_at,
    ApiKey.last_used_at,
).where(ApiKey.key_hash == bindparam("key_hash"))

_NOW = bindparam("now", type_=UTCDateTime())
_TOUCH = (
    update(ApiKey)
    .where(
        ApiKey.id == bindparam("key_id"),
        ApiKey.key_hash == bindparam("b_key_hash"),
        or_(
            ApiKey.last_used_at.is_(None),
            ApiKey.last_used_at < bindparam("cutoff", type_=UTCDateTime()),
        ),
    )
    .values(last_used_at=_NOW)
)


def authenticate(credential: str) -> _Known:
    """The known key a credential names, or 401.

    A key seen before in this process costs a hash and a dictionary read; a new
    one one indexed read by hash. Expiry is checked here (it cannot change) and
    again inside the request's statement, with existence.
    """
    if len(credential) > _MAX_CHARS:
        raise refuse()
    digest = key_hash(credential)
    memo, lock = _memo()
    with lock:
        known = memo.get(digest)
        if known is not None:
            memo.move_to_end(digest)
    if known is None:
        known = _look_up(credential, digest)
        with lock:
            memo[digest] = known
            if len(memo) > _MEMO_SIZE:
                memo.popitem(last=False)
    now = time.time()
    if known.expires is not None and now >= known.expires:
        raise refuse(EXPIRED)
    if now - known.touched >= TOUCH_INTERVAL_S:
        _touch(known, now)
    return known


def _look_up(credential: str, digest: str) -> _Known:
    """Read a key by its hash (a unique index); 401 when there is none."""
    if not _FORMAT.fullmatch(credential):
        raise refuse()
    with autocommit() as connection:
        row = connection.execute(_BY_HASH, {"key_hash": digest}).first()
    # The index found the row by equality; the comparison that decides is constant-time.
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        raise refuse()
    return _Known(
        api_key_id=row.id,
        key_hash=row.key_hash,
        user_id=row.user_id,
        scopes=frozenset(scopes_of(row.scope_mask)),
        sandbox=row.mode == "test",
        expires=row.expires_at.timestamp() if row.expires_at is not None else None,
        touched=row.last_used_at.timestamp() if row.last_used_at is not None else 0.0,
    )


def _touch(known: _Known, now: float) -> None:
    """Write `last_used_at`, at most once a minute per key.

    This process writes only when it has not written (or read a value) for a
    minute, so most requests write nothing; the UPDATE's own condition makes the
    row change at most once a minute whatever the number of processes. A hint
    may be lost in a crash, so it does not wait for the disk (`async_commit`).
    """
    known.touched = now
    at = utcnow()
    cutoff = at - timedelta(seconds=TOUCH_INTERVAL_S)
    with async_commit() as connection:
        connection.execute(
            _TOUCH,
            {"key_id": known.api_key_id, "b_key_hash": known.key_hash, "now": at, "cutoff": cutoff},
        )


def _memo() -> tuple[OrderedDict, Lock]:
    """This app's known keys by hash, least recently used first (tests build several apps)."""
    memo = current_app.extensions.get("notifier_api_key_memo")
    if memo is None:
        memo = current_app.extensions.setdefault("notifier_api_key_memo", (OrderedDict(), Lock()))
    return memo
