"""Notifier: a notification API with a dispatcher and a simulated delivery service."""

from notifier.app import create_app

__all__ = ["create_app"]
