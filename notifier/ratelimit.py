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

A login counts against three limits at once: the (client address, email) pair,
the email across all addresses, and the address across all emails. An IPv6
client is counted by its /64, the block one subscriber usually holds. On
`database://` the three are counted in one statement (`incr_many`, one round
trip, as one limit was), with the same arithmetic as the strategy's `hit`;
`memory://` needs no round trip, and Redis, which `limits` increments one key
at a time, takes three short ones.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import lru_cache

from flask import Flask, current_app
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import Connection, Double, Integer, String, TextClause, delete, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.exceptions import ServiceUnavailable, TooManyRequests

from notifier.database import async_commit
from notifier.errors import DEFAULT_MESSAGES, http_error
from notifier.extensions import db

log = logging.getLogger(__name__)

EXTENSION = "notifier.ratelimit"
STORAGE_UNAVAILABLE = "Attempts cannot be counted right now; try again shortly."


@dataclass(frozen=True)
class Limit:
    """One limit an attempt counts against: "10 per minute" in `scope`, per `identifiers`."""

    limit: str
    scope: str
    identifiers: tuple[str, ...]


class RateLimits:
    """The application's storage and strategy, built once from its config."""

    def __init__(self, storage_uri: str) -> None:
        # Wrapped errors: whatever the storage, a failure is one StorageError.
        self.storage = storage_from_string(storage_uri, wrap_exceptions=True)
        self.strategy = FixedWindowRateLimiter(self.storage)

    def hit_all(self, limits: tuple[Limit, ...]) -> list[float]:
        """Count one attempt against every limit; the reset times (seconds since
        the epoch) of those it went over, empty when it is within all of them.

        Each limit counts as `FixedWindowRateLimiter.hit` counts it (increment,
        then compare), all of them even when one is already over.
        """
        windows = [(_parsed(limit.limit), limit.scope, key(*limit.identifiers)) for limit in limits]
        if isinstance(self.storage, DatabaseStorage):
            items = {item.key_for(scope, counter): item for item, scope, counter in windows}
            counts = self.storage.incr_many({k: item.get_expiry() for k, item in items.items()})
            return [counts[k][1] for k, item in items.items() if counts[k][0] > item.amount]
        return [
            self.strategy.get_window_stats(item, scope, counter).reset_time
            for item, scope, counter in windows
            if not self.strategy.hit(item, scope, counter)
        ]


LOGIN_LIMITS = ("RATELIMIT_LOGIN", "RATELIMIT_LOGIN_PER_EMAIL", "RATELIMIT_LOGIN_PER_ADDRESS")


def init_app(app: Flask) -> None:
    """Build the storage; a login limit that `limits` cannot read stops startup."""
    for name in LOGIN_LIMITS:
        try:
            _parsed(app.config[name])
        except ValueError:
            raise RuntimeError(
                f"{name}={app.config[name]!r} is not a rate limit ('10 per minute', '100/hour')"
            ) from None
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


def hit(*limits: Limit) -> None:
    """Count one attempt against each limit.

    Over any of them: 429 with Retry-After, the seconds until the last window
    it is over has passed (on `memory://` and Redis, two more storage reads per
    limit over, on that answer only). Storage out of reach: 503.
    """
    try:
        resets = _limits().hit_all(limits)
    except StorageError as error:
        log.warning("rate-limit storage unavailable: %r", error.storage_error)
        raise http_error(
            ServiceUnavailable, STORAGE_UNAVAILABLE, headers={"Retry-After": "1"}
        ) from None
    if not resets:
        return
    retry_after = max(1, math.ceil(max(resets) - time.time()))
    raise http_error(
        TooManyRequests, DEFAULT_MESSAGES[429], headers={"Retry-After": str(retry_after)}
    )


def client(address: str | None) -> str:
    """The client a limit counts: an IPv4 address as it is, an IPv6 one by its /64
    (a host is routinely given a whole /64, so it could change address at will),
    an IPv4-mapped IPv6 address as its IPv4 one."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or ""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


def count_login(address: str | None, email: str) -> None:
    """One login attempt from `address` (`request.remote_addr`) for `email`: counted
    per (client, email) pair (`RATELIMIT_LOGIN`), per email across all clients
    (`RATELIMIT_LOGIN_PER_EMAIL`) and per client across all emails
    (`RATELIMIT_LOGIN_PER_ADDRESS`)."""
    config = current_app.config
    source = client(address)
    hit(
        Limit(config["RATELIMIT_LOGIN"], "login", (source, email)),
        Limit(config["RATELIMIT_LOGIN_PER_EMAIL"], "login-email", (email,)),
        Limit(config["RATELIMIT_LOGIN_PER_ADDRESS"], "login-address", (source,)),
    )


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


@lru_cache(maxsize=8)
def _hit(count: int) -> TextClause:
    """One atomic upsert of `count` counters (PostgreSQL and SQLite alike): a new
    window starts where the old one has passed."""
    rows = ", ".join(f"(:key_{n}, :amount, :expires_at_{n})" for n in range(count))
    return text(
        f"""
        INSERT INTO rate_limit_counters (key, hits, expires_at)
        VALUES {rows}
        ON CONFLICT (key) DO UPDATE SET
            hits = CASE WHEN rate_limit_counters.expires_at <= :now
                        THEN :amount ELSE rate_limit_counters.hits + :amount END,
            expires_at = CASE WHEN rate_limit_counters.expires_at <= :now
                              THEN excluded.expires_at ELSE rate_limit_counters.expires_at END
        RETURNING key, hits, expires_at
        """  # noqa: S608 (only bind-parameter names are formatted in)
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
        return self.incr_many({key: expiry}, amount)[key][0]

    def incr_many(self, expiries: dict[str, int], amount: int = 1) -> dict[str, tuple[int, float]]:
        """`incr` of several keys (each with its expiry in seconds) in one statement;
        per key, its hits and when its window ends (seconds since the epoch).

        Rows go in key order, so that two statements sharing keys lock them in
        the same order (no deadlock on PostgreSQL).
        """
        now = time.time()
        params: dict = {"amount": amount, "now": now}
        for n, key in enumerate(sorted(expiries)):
            params |= {f"key_{n}": key, f"expires_at_{n}": now + expiries[key]}
        try:
            with _connect() as connection:
                rows = connection.execute(_hit(len(expiries)), params).all()
        except SQLAlchemyError as error:
            # What `limits` does for the Storage methods it knows (incr is one of them).
            if self.wrap_exceptions:
                raise StorageError(error) from error
            raise
        return {key: (int(hits), float(expires_at)) for key, hits, expires_at in rows}

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
