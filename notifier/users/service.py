"""Registration and user look-ups."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from notifier import channels
from notifier.auth.passwords import hash_password
from notifier.database import transaction
from notifier.errors import conflict, unprocessable
from notifier.extensions import db
from notifier.users.models import User

EMAIL_TAKEN = "A user with this email already exists."


def normalize_email(value: str) -> str:
    """The stored form of an account email: validated, trimmed, lower-cased."""
    try:
        return channels.normalize_email(value.strip()).lower()
    except channels.ChannelError as error:
        raise unprocessable("email", error.message) from None


def register(data: dict) -> User:
    """Create a user; a taken email (in any case) is a 409."""
    email = normalize_email(data["email"])
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
