"""The console's sign-in: a login session of the auth service, kept in a signed cookie.

Signing in opens the same login session as `POST /auth/login` (the auth service
checks the password; `notifier.ratelimit` counts the attempt), but the cookie
holds its ids instead of tokens. Each page turns them into the request's
`Principal`, so the services see the caller exactly as they see an API call,
and the statements they run check that the session is still open (signing out,
here or through the API, revokes it).
"""

from __future__ import annotations

import time

from flask import current_app, g, session

from notifier.auth import service
from notifier.auth.principal import Principal, is_valid

USER_ID, SESSION_ID, SIGNED_IN_AT = "uid", "sid", "at"


def remember(user_id: int, session_id: str) -> None:
    session.clear()
    session[USER_ID] = user_id
    session[SESSION_ID] = session_id
    session[SIGNED_IN_AT] = int(time.time())


def _expired() -> bool:
    """A console session lasts as long as the login session's refresh token would."""
    lifetime = int(current_app.config["JWT_REFRESH_TOKEN_EXPIRES"])
    signed_in_at = session.get(SIGNED_IN_AT)
    return not isinstance(signed_in_at, int) or time.time() - signed_in_at >= lifetime


def forget() -> None:
    session.clear()


def signed_in() -> bool:
    """Whether the cookie names a session (not yet whether it is still open)."""
    return isinstance(session.get(USER_ID), int) and isinstance(session.get(SESSION_ID), str)


def start() -> bool:
    """Make the cookie's login session the request's `Principal`; False (and the
    cookie dropped) when there is none, or it was revoked or its user deleted."""
    if not signed_in():
        return False
    if _expired():
        forget()
        return False
    g.principal = Principal(session[USER_ID], session[SESSION_ID])
    g.principal_checked = False
    if not is_valid():
        forget()
        g.principal = None
        return False
    return True


def user_id() -> int:
    return g.principal.user_id


def sign_out() -> None:
    """Revoke the login session (the auth service's logout) and drop the cookie."""
    service.logout()
    forget()
