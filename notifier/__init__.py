"""Notifier: a notification API with a dispatcher and a simulated delivery service.

`create_app` is imported lazily, so that `notifier.channels` (pure rules, shared
with the delivery service) can be imported without loading the web app.
"""

__all__ = ["create_app"]


def __getattr__(name: str):
    if name == "create_app":
        # Imported on first use: see the module docstring.
        from notifier.app import create_app

        return create_app
    raise AttributeError(name)
