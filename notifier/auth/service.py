"""Login, token issue and logout."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token
from sqlalchemy import bindparam, insert, select, update

from notifier.auth.bearer import SESSION_CLAIM
from notifier.auth.models import AuthSession
from notifier.auth.passwords import burn_verify, hash_password, needs_rehash, verify_password
from notifier.auth.principal import current_principal
from notifier.database import async_commit, autocommit, transaction, utcnow
from notifier.errors import unauthorized
from notifier.extensions import db
from notifier.users.models import User

BAD_CREDENTIALS = "The email or password is incorrect."

# Login costs one hash; the rest is kept to two autocommit statements (no
# BEGIN/COMMIT, no ORM objects); the profile behind this is in docs/operations/performance.md.
_USER_BY_EMAIL = select(User.id, User.password_hash).where(User.email == bindparam("email"))
_OPEN_SESSION = insert(AuthSession.__table__)


def _access_lifetime() -> int:
    return int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"])


def login(email: str, password: str) -> dict:
    """Check the credentials and open a login session with two tokens.

    `email` is in its lookup form (`notifier.emails.lookup_form`, through the
    schema). The answer is the same, and as slow, whether the email exists or not.
    """
    user_id, session_id = open_session(email, password)
    identity = str(user_id)
    claims = {SESSION_CLAIM: session_id}
    return {
        "access_token": create_access_token(identity, additional_claims=claims),
        "refresh_token": create_refresh_token(identity, additional_claims=claims),
        "token_type": "Bearer",
        "expires_in": _access_lifetime(),
    }


def open_session(email: str, password: str) -> tuple[int, str]:
    """Check the credentials and open a login session: its user id and session id.

    The API's login wraps it in tokens; the console keeps both ids in its signed
    cookie. Either way `logout` revokes the session. 401 on bad credentials, the
    same whether the email exists or not.
    """
    with autocommit() as connection:
        user = connection.execute(_USER_BY_EMAIL, {"email": email}).first()
    if user is None:
        burn_verify()
        raise unauthorized(BAD_CREDENTIALS)
    if not verify_password(user.password_hash, password):
        raise unauthorized(BAD_CREDENTIALS)
    if needs_rehash(user.password_hash):
        _upgrade_hash(user.id, password)

    refresh_lifetime = int(current_app.config["JWT_REFRESH_TOKEN_EXPIRES"])
    now = utcnow()
    session_id = secrets.token_hex(16)
    # Without waiting for the disk: a session lost in a crash only makes its
    # tokens refused (notifier.database.async_commit).
    with async_commit() as connection:
        connection.execute(
            _OPEN_SESSION,
            {
                "id": session_id,
                "user_id": user.id,
                "created_at": now,
                "expires_at": now + timedelta(seconds=refresh_lifetime),
            },
        )
    return user.id, session_id


def _upgrade_hash(user_id: int, password: str) -> None:
    """Store a hash made with the current parameters (raised after this one was made).

    Only possible at login, the one moment the password is known; it costs that
    login a second hash, once.
    """
    with autocommit() as connection:
        connection.execute(
            update(User.__table__)
            .where(User.id == user_id)
            .values(password_hash=hash_password(password), updated_at=utcnow())
        )


def refresh() -> dict:
    """A new access token for the refresh token's login session."""
    principal = current_principal()
    claims = {SESSION_CLAIM: principal.session_id}
    return {
        "access_token": create_access_token(str(principal.user_id), additional_claims=claims),
        "token_type": "Bearer",
        "expires_in": _access_lifetime(),
    }


def logout() -> None:
    """Revoke the login session: its access and refresh tokens stop working."""
    with transaction():
        db.session.execute(
            update(AuthSession)
            .where(
                AuthSession.id == current_principal().session_id,
                AuthSession.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
        )
