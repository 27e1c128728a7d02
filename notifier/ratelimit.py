"""Rate limiting, in one place: limits, keys, the storage and its table.

Attempts are counted with the `limits` library's public API: a
`FixedWindowRateLimiter` on the storage that `RATELIMIT_STORAGE_URI` names,
built by `limits.storage.storage_from_string`. There is one storage path, and
three storages go through it:

- `database://` (the default): `DatabaseStorage` below, a `limits` storage
  registered through its `STORAGE_SCHEME`. The counters live in the
  application's own database, so every gunicorn worker and every host shares
  them with nothing else installed.
- `memory://`: one process only (a single worker, or tests).
- `redis://host:port/db`: Redis, when one is deployed (the compose stack).

Fixed windows, because a counter is all the database storage keeps; at the
edge of two windows a client may get up to twice the limit in a short span,
which is still no brute force of a password.

Keys are a SHA-256 of the identifiers (for login: the client address and the
email in its lookup form, see `notifier.emails`): bounded, safe for every
storage whatever the request held, and they keep no email in Redis or the table.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from contextlib import AbstractContextManager
from functools import lru_cache

from flask import Flask, current_app
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import Connection, Double, Integer, String, delete, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.exceptions import ServiceUnavailable, TooManyRequests

from notifier.database import async_commit
from notifier.errors import DEFAULT_MESSAGES, http_error
from notifier.extensions import db

log = logging.getLogger(__name__)

EXTENSION = "notifier.ratelimit"
STORAGE_UNAVAILABLE = "Attempts cannot be counted right now; try again shortly."


class RateLimits:
    """The application's storage and strategy, built once from its config."""

    def __init__(self, storage_uri: str) -> None:
        # Wrapped errors: whatever the storage, a failure is one StorageError.
        self.storage = storage_from_string(storage_uri, wrap_exceptions=True)
        self.strategy = FixedWindowRateLimiter(self.storage)


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = RateLimits(app.config["RATELIMIT_STORAGE_URI"])


def _limits() -> RateLimits:
    return current_app.extensions[EXTENSION]


@lru_cache(maxsize=16)
def _parsed(limit: str) -> RateLimitItem:
    return parse(limit)


def key(*identifiers: str) -> str:
    """A fixed-length key for any identifiers: each is length-prefixed, so no
    two tuples share a key, and encoded so that no text can make it fail."""
    digest = hashlib.sha256()
    for identifier in identifiers:
        encoded = identifier.encode("utf-8", "surrogatepass")
        digest.update(b"%d:" % len(encoded))
        digest.update(encoded)
    return digest.hexdigest()


def hit(limit: str, scope: str, *identifiers: str) -> None:
    """Count one attempt in `scope` against `limit` ("10 per minute").

    Over the limit: 429 with Retry-After, the seconds left in the window (two
    more storage reads, on that answer only). Storage out of reach: 503.
    """
    limits = _limits()
    item = _parsed(limit)
    counter = key(*identifiers)
    try:
        if limits.strategy.hit(item, scope, counter):
            return
        reset_at = limits.strategy.get_window_stats(item, scope, counter).reset_time
    except StorageError as error:
        log.warning("rate-limit storage unavailable: %r", error.storage_error)
        raise http_error(
            ServiceUnavailable, STORAGE_UNAVAILABLE, headers={"Retry-After": "1"}
        ) from None
    retry_after = max(1, math.ceil(reset_at - time.time()))
    raise http_error(
        TooManyRequests, DEFAULT_MESSAGES[429], headers={"Retry-After": str(retry_after)}
    )


def count_login(address: str | None, email: str) -> None:
    """One login attempt of (client address, email): `RATELIMIT_LOGIN` per pair."""
    hit(current_app.config["RATELIMIT_LOGIN"], "login", address or "", email)


def purge_expired() -> int:
    """Delete the windows that have passed, when they live in the database (the
    dispatcher calls this now and then); memory and Redis expire their own."""
    storage = _limits().storage
    return storage.purge_expired() if isinstance(storage, DatabaseStorage) else 0


class RateLimitCounter(db.Model):
    """One window of one key: `hits` until `expires_at` (seconds since the epoch)."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(512), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float] = mapped_column(Double, index=True)


_COUNTERS = RateLimitCounter.__table__

# One atomic upsert per hit: a new window starts when the old one has passed.
_HIT = text(
    """
    INSERT INTO rate_limit_counters (key, hits, expires_at)
    VALUES (:key, :amount, :expires_at)
    ON CONFLICT (key) DO UPDATE SET
        hits = CASE WHEN rate_limit_counters.expires_at <= :now
                    THEN :amount ELSE rate_limit_counters.hits + :amount END,
        expires_at = CASE WHEN rate_limit_counters.expires_at <= :now
                          THEN :expires_at ELSE rate_limit_counters.expires_at END
    RETURNING hits
    """
)


def _connect() -> AbstractContextManager[Connection]:
    """The one place this module reaches the database: a connection for one
    statement that commits on its own, without waiting for the disk (a count
    lost in a crash lets one more attempt through)."""
    return async_commit()


class DatabaseStorage(Storage):
    """`database://`: fixed-window counters in the `rate_limit_counters` table."""

    STORAGE_SCHEME = ["database"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options) -> None:
        super().__init__(uri, wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        params = {"key": key, "amount": amount, "expires_at": now + expiry, "now": now}
        with _connect() as connection:
            return int(connection.execute(_HIT, params).scalar_one())

    def get(self, key: str) -> int:
        query = select(_COUNTERS.c.hits).where(
            _COUNTERS.c.key == key, _COUNTERS.c.expires_at > time.time()
        )
        with _connect() as connection:
            return int(connection.execute(query).scalar() or 0)

    def get_expiry(self, key: str) -> float:
        query = select(_COUNTERS.c.expires_at).where(_COUNTERS.c.key == key)
        with _connect() as connection:
            return float(connection.execute(query).scalar() or time.time())

    def check(self) -> bool:
        try:
            with _connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with _connect() as connection:
            return connection.execute(delete(_COUNTERS)).rowcount

    def clear(self, key: str) -> None:
        with _connect() as connection:
            connection.execute(delete(_COUNTERS).where(_COUNTERS.c.key == key))

    def purge_expired(self) -> int:
        """Delete the windows that have passed."""
        with _connect() as connection:
            expired = _COUNTERS.c.expires_at <= time.time()
            return connection.execute(delete(_COUNTERS).where(expired)).rowcount
