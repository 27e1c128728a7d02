"""Flask CLI commands: `worker` (the dispatcher), `seed` (demo data), `api-keys`,
`wait-for-schema` (an init container's wait for the migrations)."""

from __future__ import annotations

import time

import click
from flask import Flask

from notifier.api_keys.cli import api_keys_group
from notifier.health import schema_problem
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


@click.command("wait-for-schema")
@click.option(
    "--timeout",
    type=click.FloatRange(0, 86_400),
    default=600,
    show_default=True,
    help="Seconds to wait before giving up (exit 1).",
)
@click.option(
    "--interval",
    type=click.FloatRange(0.1, 60),
    default=2,
    show_default=True,
    help="Seconds between checks.",
)
def wait_for_schema_command(timeout: float, interval: float) -> None:
    """Wait until the database answers at the schema revision this code needs.

    The same check as `/ready`. Kubernetes runs it as an init container of the API
    and the worker, so that a new pod starts only once the migration Job is done.
    """
    deadline = time.monotonic() + timeout
    while (problem := schema_problem()) is not None:
        if time.monotonic() >= deadline:
            raise click.ClickException(f"gave up after {timeout:g} s: {problem}")
        click.echo(f"waiting: {problem}", err=True)
        time.sleep(interval)
    click.echo("The database schema is at this version's head.")


def register_commands(app: Flask) -> None:
    app.cli.add_command(worker)
    app.cli.add_command(seed_command)
    app.cli.add_command(api_keys_group)
    app.cli.add_command(wait_for_schema_command)
