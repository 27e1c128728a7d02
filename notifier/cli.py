"""Flask CLI commands: `worker` (the dispatcher), `seed` (demo data), `api-keys`."""

from __future__ import annotations

import click
from flask import Flask

from notifier.api_keys.cli import api_keys_group
from notifier.seed import DEMO_EMAIL, DEMO_PASSWORD, seed, seed_test_key
from notifier.worker.command import worker


@click.command("seed")
def seed_command() -> None:
    """Add a demo user and notifications in every channel and status (idempotent), and
    print a new test API key for the demo user (replacing the previous demo key)."""
    user, added = seed()
    click.echo(
        f"Demo user: {DEMO_EMAIL} / {DEMO_PASSWORD} (id {user.id}); {added} notifications added."
    )
    click.echo(f"Demo test API key (sandbox, shown this once): {seed_test_key(user.id)}")


def register_commands(app: Flask) -> None:
    app.cli.add_command(worker)
    app.cli.add_command(seed_command)
    app.cli.add_command(api_keys_group)
