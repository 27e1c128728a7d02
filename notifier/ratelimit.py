"""Login attempt counting, and a Flask-Limiter (`limits`) storage in our own database.

`RATELIMIT_STORAGE_URI=database://` (the default) keeps the login counters in
the `rate_limit_counters` table, so every gunicorn worker and every host sees
the same counts without a Redis. Each hit is one atomic upsert on the
"async_commit" engine (see config.py). `memory://` and `redis://…` work as usual.
"""

from __future__ import annotations

import math
import time
from functools import lru_cache

from limits import RateLimitItem, parse
from limits.storage import Storage
from sqlalchemy import delete, select, text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import TooManyRequests

from notifier.errors import DEFAULT_MESSAGES, http_error

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


@lru_cache(maxsize=16)
def _parsed(limit: str) -> RateLimitItem:
    return parse(limit)


def count_attempt(limit: str, key: str) -> None:
    """Count one attempt for `key` against `limit` ("10 per minute"); 429 when over it.

    It hits Flask-Limiter's own strategy and storage directly: its decorator
    resolved the route's limits on every call, a sixth of a login's CPU besides
    the hash. A 429 carries Retry-After, the seconds left in the window.
    """
    # Not at the top only to keep this edit to one line while ratelimit.py is rewritten.
    from notifier.extensions import limiter

    if not limiter.enabled:
        return
    item = _parsed(limit)
    if limiter.limiter.hit(item, key):
        return
    reset_at = limiter.limiter.get_window_stats(item, key).reset_time
    retry_after = max(1, math.ceil(reset_at - time.time()))
    raise http_error(
        TooManyRequests, DEFAULT_MESSAGES[429], headers={"Retry-After": str(retry_after)}
    )


def _counters():
    # Imported late: notifier.auth's routes import this module.
    from notifier.auth.models import RateLimitCounter

    return RateLimitCounter.__table__


def _engine():
    """What `_engine().connect()` gives: a connection whose writes need not wait
    for the disk (a lost count lets one more attempt through); one pool for all."""
    # Imported here to keep this edit inside one function while ratelimit.py is rewritten.
    from types import SimpleNamespace

    from notifier.database import async_commit

    return SimpleNamespace(connect=async_commit)


class DatabaseStorage(Storage):
    """Fixed-window counters: one row per key, reset when its window has passed."""

    STORAGE_SCHEME = ["database"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options) -> None:
        super().__init__(uri, wrap_exceptions, **options)

    @property
    def base_exceptions(self):
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        params = {"key": key, "amount": amount, "expires_at": now + expiry, "now": now}
        with _engine().connect() as connection:
            return int(connection.execute(_HIT, params).scalar_one())

    def get(self, key: str) -> int:
        table = _counters()
        query = select(table.c.hits).where(table.c.key == key, table.c.expires_at > time.time())
        with _engine().connect() as connection:
            return int(connection.execute(query).scalar() or 0)

    def get_expiry(self, key: str) -> float:
        table = _counters()
        query = select(table.c.expires_at).where(table.c.key == key)
        with _engine().connect() as connection:
            return float(connection.execute(query).scalar() or time.time())

    def check(self) -> bool:
        try:
            with _engine().connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with _engine().connect() as connection:
            return connection.execute(delete(_counters())).rowcount

    def purge_expired(self) -> int:
        """Delete windows that have passed (the dispatcher calls this now and then)."""
        table = _counters()
        with _engine().connect() as connection:
            return connection.execute(
                delete(table).where(table.c.expires_at <= time.time())
            ).rowcount

    def clear(self, key: str) -> None:
        table = _counters()
        with _engine().connect() as connection:
            connection.execute(delete(table).where(table.c.key == key))
