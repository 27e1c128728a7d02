"""JWT identity and revocation callbacks, and the current user's id."""

from __future__ import annotations

from flask_jwt_extended import JWTManager, get_jwt_identity
from sqlalchemy import select

from notifier.auth.models import AuthSession
from notifier.extensions import db

SESSION_CLAIM = "sid"


def current_user_id() -> int:
    """The id of the token's user (`sub` is a string, as PyJWT requires)."""
    return int(get_jwt_identity())


def session_is_active(session_id: object, subject: object) -> bool:
    """True when the login session exists, belongs to `subject` and is not revoked.

    One primary-key look-up per request: it checks revocation and that the user
    still exists (their sessions are deleted with them).
    """
    if not isinstance(session_id, str) or not isinstance(subject, str):
        return False
    if not subject.isdigit() or len(subject) > 19:
        return False
    found = db.session.execute(
        select(AuthSession.id).where(
            AuthSession.id == session_id,
            AuthSession.user_id == int(subject),
            AuthSession.revoked_at.is_(None),
        )
    ).first()
    return found is not None


def register_token_callbacks(jwt: JWTManager) -> None:
    @jwt.token_in_blocklist_loader
    def token_revoked(jwt_header: dict, jwt_payload: dict) -> bool:
        return not session_is_active(jwt_payload.get(SESSION_CLAIM), jwt_payload.get("sub"))
