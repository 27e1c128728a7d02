"""The request's bearer credential: the header read, and an access token verified.

`notifier.auth.principal` turns what this module reads into the request's
`Principal`; this module knows headers and tokens, not principals or validity.

The header is read as flask-jwt-extended reads it (`JWT_HEADER_NAME`,
`JWT_HEADER_TYPE`, other schemes comma-separated beside it), with its errors. A
token is verified with the library's public `decode_token`, so every
`JWT_DECODE_*` setting, `JWT_IDENTITY_CLAIM` and the key loaders apply, and a bad
token raises the library's own exceptions (rendered by
`errors.register_jwt_callbacks`). `decode_token` parses a token three times, so a
verified token is kept in a bounded per-app memo; a repeat only re-checks its
expiry. Revocation is not this module's concern: the principal's validity is read
from the database on every request.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping
from datetime import timedelta
from threading import Lock
from types import MappingProxyType
from typing import NamedTuple

from flask import current_app, request
from flask_jwt_extended import decode_token
from flask_jwt_extended.exceptions import InvalidHeaderError, JWTDecodeError, NoAuthorizationError

# The claim naming the login session a token belongs to (`auth.service` issues it).
SESSION_CLAIM = "sid"
_MEMO_SIZE = 2048
_MEMO_EXTENSION = "notifier_principal_memo"


class Token(NamedTuple):
    """A verified token: its user, login session, type (access or refresh) and claims."""

    user_id: int
    session_id: str
    type: str
    claims: Mapping


def credential() -> str:
    """The token of `<JWT_HEADER_NAME>: <JWT_HEADER_TYPE> <token>`; other schemes
    may sit beside it, comma-separated (as flask-jwt-extended reads it)."""
    config = current_app.config
    name, scheme = config["JWT_HEADER_NAME"], config["JWT_HEADER_TYPE"]
    header = request.headers.get(name, "").strip().strip(",")
    if not header:
        raise NoAuthorizationError(f"Missing {name} Header")
    if not scheme:
        parts = header.split()
        if len(parts) != 1:
            raise InvalidHeaderError(f"Bad {name} header. Expected '{name}: <JWT>'")
        return parts[0]
    values = [value for value in header.split(",") if value.strip()]
    matching = [value.split() for value in values if value.split()[0] == scheme]
    if len(matching) != 1:
        raise NoAuthorizationError(f"Missing '{scheme}' type in '{name}' header")
    if len(matching[0]) != 2:
        raise InvalidHeaderError(f"Bad {name} header. Expected '{name}: {scheme} <JWT>'")
    return matching[0][1]


def verified(encoded: str) -> Token:
    """The token, verified by `decode_token` once per token and process; a
    memoised one is re-checked for expiry only."""
    memo, lock = _memo()
    with lock:
        entry = memo.get(encoded)
        if entry is not None:
            memo.move_to_end(encoded)
    if entry is not None:
        token, expires = entry
        if expires is None or time.time() < expires:
            return token
    claims = decode_token(encoded)  # raises the library's errors, expiry included
    token = _token_from_claims(claims)
    with lock:
        memo[encoded] = (token, _expiry(claims))
        if len(memo) > _MEMO_SIZE:
            memo.popitem(last=False)
    return token


def _token_from_claims(claims: dict) -> Token:
    subject = claims[current_app.config["JWT_IDENTITY_CLAIM"]]
    session_id = claims.get(SESSION_CLAIM)
    if not (isinstance(subject, str) and subject.isdigit() and len(subject) <= 18):
        raise JWTDecodeError("The subject is not a user id")
    if not isinstance(session_id, str):
        raise JWTDecodeError(f"Missing claim: {SESSION_CLAIM}")
    return Token(int(subject), session_id, claims["type"], MappingProxyType(claims))


def _expiry(claims: dict) -> float | None:
    """When `decode_token` would start refusing the token (`exp` plus the leeway).

    `nbf` and `iat` need no re-check: time only moves them further into the past.
    """
    if claims.get("exp") is None:
        return None
    leeway = current_app.config["JWT_DECODE_LEEWAY"]
    if isinstance(leeway, timedelta):
        leeway = leeway.total_seconds()
    return claims["exp"] + leeway


def _memo() -> tuple[OrderedDict, Lock]:
    """This app's verified tokens, least recently used first (tests build several apps)."""
    memo = current_app.extensions.get(_MEMO_EXTENSION)
    if memo is None:
        memo = current_app.extensions.setdefault(_MEMO_EXTENSION, (OrderedDict(), Lock()))
    return memo
