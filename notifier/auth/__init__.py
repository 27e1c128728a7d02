"""Auth: login, refresh and logout with JWTs whose revocations live in the database."""

from notifier.auth.routes import blp

__all__ = ["blp"]
