"""Password hashing with Argon2id: salted, slow, and every character counts.

Unlike bcrypt, Argon2 has no 72-byte input limit, so all 128 characters of a
long password are significant.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app


def _hasher() -> PasswordHasher:
    hasher = current_app.extensions.get("password_hasher")
    if hasher is None:
        config = current_app.config
        hasher = PasswordHasher(
            time_cost=config["PASSWORD_HASH_TIME_COST"],
            memory_cost=config["PASSWORD_HASH_MEMORY_KIB"],
            parallelism=config["PASSWORD_HASH_PARALLELISM"],
        )
        current_app.extensions["password_hasher"] = hasher
    return hasher


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than the configured ones."""
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def burn_verify() -> None:
    """Spend the time of one verification, so that an unknown email answers
    as slowly as a wrong password (no account enumeration by timing)."""
    dummy = current_app.extensions.get("password_dummy_hash")
    if dummy is None:
        dummy = hash_password("not-a-real-password")
        current_app.extensions["password_dummy_hash"] = dummy
    verify_password(dummy, "still-not-the-password")
