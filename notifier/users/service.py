"""Registration and user look-ups."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from notifier.auth.passwords import hash_password
from notifier.database import transaction
from notifier.errors import conflict
from notifier.extensions import db
from notifier.users.models import User

EMAIL_TAKEN = "A user with this email already exists."


def register(data: dict) -> User:
    """Create a user; a taken email (in any case) is a 409.

    `data["email"]` is already canonical (`notifier.emails`, through the schema).
    """
    email = data["email"]
    if db.session.query(User.id).filter_by(email=email).first() is not None:
        raise conflict(EMAIL_TAKEN)
    user = User(name=data["name"], email=email, password_hash=hash_password(data["password"]))
    try:
        with transaction():
            db.session.add(user)
    except IntegrityError:
        # Two registrations raced past the check above: the unique index decides.
        raise conflict(EMAIL_TAKEN) from None
    return user


def get_user(user_id: int) -> User | None:
    return db.session.get(User, user_id)
