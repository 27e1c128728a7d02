"""Flask CLI commands: `worker` (the dispatcher) and `seed` (demo data)."""

from __future__ import annotations

from flask import Flask


def register_commands(app: Flask) -> None:
    from notifier.worker.command import worker

    app.cli.add_command(worker)
