"""Notifications: each user's email, SMS and push messages and their delivery attempts."""

from notifier.notifications.routes import blp

__all__ = ["blp"]
