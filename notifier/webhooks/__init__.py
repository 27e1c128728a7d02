"""Webhooks: signed status callbacks, their outbox, sender and delivery log."""

from notifier.webhooks.routes import blp

__all__ = ["blp"]
