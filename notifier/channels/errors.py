"""The one error every channel rule raises."""

from __future__ import annotations


class ChannelError(ValueError):
    """A channel rule is broken: ``field`` names the culprit, ``message`` says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def __repr__(self) -> str:
        return f"ChannelError(field={self.field!r}, message={self.message!r})"
