"""Flask CLI commands: `worker` (the dispatcher) and `seed` (demo data)."""

from __future__ import annotations

import click
from flask import Flask


@click.command("seed")
def seed_command() -> None:
    """Add a demo user and notifications in every channel and status (idempotent)."""
    from notifier.seed import DEMO_EMAIL, DEMO_PASSWORD, seed

    user, added = seed()
    click.echo(
        f"Demo user: {DEMO_EMAIL} / {DEMO_PASSWORD} (id {user.id}); {added} notifications added."
    )


def register_commands(app: Flask) -> None:
    from notifier.worker.command import worker

    app.cli.add_command(worker)
    app.cli.add_command(seed_command)
