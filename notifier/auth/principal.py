"""Who is calling: the request's credential as a `Principal`, and whether it is valid.

The only module that turns a credential into a caller. Routes declare
`@auth_required(...)`; services ask `current_principal()`; notification statements
take the principal's ownership and validity condition from
`notifier.auth.ownership`, which builds it from `VALIDITY` and
`Principal.bind_params()` here.

An access token is read and verified by `notifier.auth.bearer` (the library's own
checks and exceptions, verified once per token and process). Revocation is never
memoised: it is read from the database on every request, inside the request's own
statement or by `ensure_valid()`, so a logout is seen at once by every process and
host.

An API key (`Bearer ntf_…`) is the second `Kind`: `notifier.api_keys.credentials`
gives its owner, scopes and mode (they never change: remembered per process), and
its `VALIDITY` clause (the key exists with that id, owner and hash, unexpired) goes
into the statement like a session's. A key works only on routes that declare its
scope (403 elsewhere).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import wraps
from types import MappingProxyType

from flask import g
from flask_jwt_extended.exceptions import RevokedTokenError, WrongTokenError
from sqlalchemy import BigInteger, bindparam, exists, or_, select
from werkzeug.exceptions import Forbidden

from notifier.api_keys import credentials
from notifier.api_keys.models import SCOPES, ApiKey
from notifier.auth import bearer
from notifier.auth.models import AuthSession
from notifier.database import UTCDateTime, autocommit, utcnow
from notifier.web import http_error

# Bind parameters of every condition on the caller: unlike `user_id`, they never
# collide with a column's name (an UPDATE reserves those for its SET values).
CALLER_USER_ID = "caller_user_id"
CALLER_SESSION_ID = "caller_session_id"
CALLER_API_KEY_ID = "caller_api_key_id"
CALLER_API_KEY_HASH = "caller_api_key_hash"
CALLER_NOW = "caller_now"
_NO_CLAIMS: Mapping = MappingProxyType({})


class Kind(StrEnum):
    """What the credential is: a login's access (or refresh) token, or an API key."""

    SESSION = "session"
    API_KEY = "api_key"


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: a user, through one login session or one API key.

    `scopes` is None for a login (everything a user may do); an API key carries
    its scopes, its id, its hash and whether it is a test (`sandbox`) key.
    """

    user_id: int
    session_id: str | None
    kind: Kind = Kind.SESSION
    scopes: frozenset[str] | None = None
    api_key_id: int | None = None
    sandbox: bool = False
    api_key_hash: str | None = field(default=None, repr=False)
    # The verified token's claims (read-only), for the library's error callbacks.
    claims: Mapping = field(default_factory=lambda: _NO_CLAIMS, compare=False, repr=False)

    def bind_params(self) -> dict:
        """Values of the bind parameters in `VALIDITY[self.kind]` and the ownership."""
        if self.kind is Kind.API_KEY:
            return {
                CALLER_USER_ID: self.user_id,
                CALLER_API_KEY_ID: self.api_key_id,
                CALLER_API_KEY_HASH: self.api_key_hash,
                CALLER_NOW: utcnow(),
            }
        return {CALLER_USER_ID: self.user_id, CALLER_SESSION_ID: self.session_id}

    def allows(self, scope: str) -> bool:
        return self.scopes is None or scope in self.scopes


# The caller's user id, as every ownership condition compares it.
OWNER = bindparam(CALLER_USER_ID, type_=BigInteger())

# Per kind, the condition that the credential is still valid: for a login, its
# session is not revoked; for an API key, the key exists and has not expired.
# Either way its user exists: sessions and keys are deleted with their user.
# A key is compared by its hash too: an id names a row, the hash the credential, so
# a key remembered by a process never passes for another row that got its id.
VALIDITY = {
    Kind.SESSION: exists().where(
        AuthSession.id == bindparam(CALLER_SESSION_ID),
        AuthSession.user_id == OWNER,
        AuthSession.revoked_at.is_(None),
    ),
    Kind.API_KEY: exists().where(
        ApiKey.id == bindparam(CALLER_API_KEY_ID),
        ApiKey.user_id == OWNER,
        ApiKey.key_hash == bindparam(CALLER_API_KEY_HASH),
        or_(
            ApiKey.expires_at.is_(None),
            ApiKey.expires_at > bindparam(CALLER_NOW, type_=UTCDateTime()),
        ),
    ),
}
# Built once: the per-request check then skips building and hashing the query.
_IS_VALID = {kind: select(clause) for kind, clause in VALIDITY.items()}


def auth_required(
    *, refresh: bool = False, checked_in_statement: bool = False, scope: str | None = None
):
    """Require a valid credential; the view then reads `current_principal()`.

    By default validity is read here, one primary-key read. A route whose every
    statement carries the condition (`notifier.auth.ownership`) passes
    `checked_in_statement=True` and saves that round trip; it is then an error
    for the view to answer without having run such a statement.
    `scope`: the scope an API key needs here (else 403); without one, every key gets 403.
    """
    if scope is not None and scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            g.principal = _authenticate(refresh=refresh)
            g.principal_checked = False
            if g.principal.kind is Kind.API_KEY:
                _check_key_may(scope)
            if not checked_in_statement:
                ensure_valid()
                return view(*args, **kwargs)
            response = view(*args, **kwargs)
            if not g.principal_checked:
                raise RuntimeError(f"{view.__qualname__} ran no statement checking the caller")
            return response

        wrapper.auth_requirement = {
            "refresh": refresh,
            "checked_in_statement": checked_in_statement,
            "scope": scope,
        }
        return wrapper

    return decorator


def _check_key_may(scope: str | None) -> None:
    """403 for an API key on a route it may not call; 401 first if the key is gone."""
    principal = current_principal()
    if scope is not None and principal.allows(scope):
        return
    ensure_valid()  # a deleted key is refused as such (401), not as out of scope
    if scope is None:
        raise http_error(Forbidden, credentials.NOT_HERE)
    raise http_error(Forbidden, credentials.MISSING_SCOPE.format(scope=scope))


def current_principal() -> Principal:
    """The caller of this request; an error outside an `auth_required` route."""
    principal = g.get("principal")
    if principal is None:
        raise RuntimeError("no principal: the route is not wrapped by auth_required")
    return principal


def mark_checked() -> None:
    """Record that a statement carrying the validity condition ran (see auth_required)."""
    g.principal_checked = True


def is_valid() -> bool:
    """Whether the caller's credential is still valid: one primary-key read."""
    principal = current_principal()
    with autocommit() as connection:
        valid = connection.execute(_IS_VALID[principal.kind], principal.bind_params()).scalar()
    mark_checked()
    return bool(valid)


def ensure_valid() -> None:
    """Refuse the caller (401) if the credential was revoked (a key deleted or
    expired) or its user deleted."""
    if not is_valid():
        if current_principal().kind is Kind.API_KEY:
            raise credentials.refuse()
        raise RevokedTokenError({}, dict(current_principal().claims))


def _authenticate(*, refresh: bool) -> Principal:
    """The principal that the request's credential names (not yet whether it is valid)."""
    encoded = bearer.credential()
    if credentials.is_key(encoded):
        key = credentials.authenticate(encoded)
        return Principal(
            key.user_id, None, Kind.API_KEY, key.scopes, key.api_key_id, key.sandbox, key.key_hash
        )
    token = bearer.verified(encoded)
    if token.type != ("refresh" if refresh else "access"):
        raise WrongTokenError(f"Only {'refresh' if refresh else 'non-refresh'} tokens are allowed")
    return Principal(token.user_id, token.session_id, claims=token.claims)
