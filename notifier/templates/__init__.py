"""Templates: message copy with `{{ name }}` placeholders, its versions, and the one renderer."""

from notifier.templates.routes import blp

__all__ = ["blp"]
