"""`flask --app wsgi api-keys create`: make a key for a user, from the operator's shell."""

from __future__ import annotations

import click
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from notifier.api_keys import service
from notifier.api_keys.models import SCOPES
from notifier.emails import lookup_form
from notifier.extensions import db
from notifier.users.models import User


@click.group("api-keys")
def api_keys_group() -> None:
    """Manage users' API keys."""


@api_keys_group.command("create")
@click.option("--email", required=True, help="The user the key acts as.")
@click.option("--name", required=True, help="Which server or integration uses it.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(SCOPES),
    help="Repeat for several; default: the three notifications: scopes.",
)
@click.option("--test", is_flag=True, help="A test key: its notifications are sandboxed.")
def create_command(email: str, name: str, scopes: tuple[str, ...], test: bool) -> None:
    """Create an API key and print it (shown this once: only its hash is stored)."""
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise click.BadParameter("1 to 100 characters", param_hint="--name")
    user = db.session.scalar(select(User).where(User.email == lookup_form(email)))
    if user is None:
        raise click.ClickException(f"No user with the email {email}.")
    try:
        body = service.create_key(user.id, name, scopes or None, "test" if test else "live")
    except HTTPException as error:  # over the limit of keys per user
        raise click.ClickException(error.data["message"]) from None
    click.echo(
        f"API key {body['id']} ({body['mode']}, {' '.join(body['scopes'])}) for {user.email}:"
    )
    click.echo(body["key"])
