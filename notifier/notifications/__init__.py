"""Notifications: each user's email, SMS and push messages and their delivery attempts.

`blp` is loaded on first use, so that importing a submodule (the lifecycle, which
models of other features use) does not import the routes and, through them, those
features again.
"""

from __future__ import annotations

__all__ = ["blp"]


def __getattr__(name: str):
    if name == "blp":
        # Here, not at the top: see the module docstring (an import cycle otherwise).
        from notifier.notifications.routes import blp

        return blp
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
