"""Users: registration and the current user's profile."""

from notifier.users.routes import blp

__all__ = ["blp"]
