"""JWT identity and revocation callbacks, and the current user's id."""

from __future__ import annotations

from flask_jwt_extended import JWTManager, get_jwt_identity
from sqlalchemy import bindparam, select

from notifier.auth.models import AuthSession
from notifier.database import read

SESSION_CLAIM = "sid"


def current_user_id() -> int:
    """The id of the token's user (`sub` is a string, as PyJWT requires)."""
    return int(get_jwt_identity())


# Built once: the per-request check then skips building and hashing the query.
_ACTIVE_SESSION = select(AuthSession.id).where(
    AuthSession.id == bindparam("session_id"),
    AuthSession.user_id == bindparam("user_id"),
    AuthSession.revoked_at.is_(None),
)


def session_is_active(session_id: object, subject: object) -> bool:
    """True when the login session exists, belongs to `subject` and is not revoked.

    One primary-key look-up per request: it checks revocation and that the user
    still exists (their sessions are deleted with them).
    """
    if not isinstance(session_id, str) or not isinstance(subject, str):
        return False
    if not subject.isdigit() or len(subject) > 18:
        return False
    params = {"session_id": session_id, "user_id": int(subject)}
    return read(_ACTIVE_SESSION, params).first() is not None


def register_token_callbacks(jwt: JWTManager) -> None:
    @jwt.token_in_blocklist_loader
    def token_revoked(jwt_header: dict, jwt_payload: dict) -> bool:
        return not session_is_active(jwt_payload.get(SESSION_CLAIM), jwt_payload.get("sub"))
