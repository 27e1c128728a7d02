"""Flask CLI commands: `worker` (the dispatcher) and `seed` (demo data)."""

from __future__ import annotations

import click
from flask import Flask

from notifier.seed import DEMO_EMAIL, DEMO_PASSWORD, seed
from notifier.worker.command import worker


@click.command("seed")
def seed_command() -> None:
    """Add a demo user and notifications in every channel and status (idempotent)."""
    user, added = seed()
    click.echo(
        f"Demo user: {DEMO_EMAIL} / {DEMO_PASSWORD} (id {user.id}); {added} notifications added."
    )


def register_commands(app: Flask) -> None:
    app.cli.add_command(worker)
    app.cli.add_command(seed_command)
