"""Flask-Migrate for `flask db …`, and the schema revision this code needs.

Flask-Migrate imports Alembic, Mako and Pygments (megabytes in every process
that loads it; docs/operations/performance.md has the figure), and a gunicorn worker never
migrates. So the factory registers a `db` command group that loads
Flask-Migrate when a `flask db` command runs, and nothing else imports it;
`bind` is the one place that binds it to an app (the CLI through that group,
the tests directly). `/ready` compares
`HEAD_REVISION` with the database's `alembic_version` without Alembic;
tests/test_migrations.py checks that it names the migrations' real head.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask import Flask

from notifier.extensions import db

if TYPE_CHECKING:
    from flask_migrate import Migrate

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

# The newest revision in migrations/versions: set it with each new migration.
HEAD_REVISION = "0011"


def bind(app: Flask) -> Migrate:
    """Bind Flask-Migrate to `app` (for `flask db …` and `flask_migrate.upgrade()`)."""
    # Imported here: only `flask db` and the tests need Alembic (see the module docstring).
    from flask_migrate import Migrate

    return Migrate(app, db, render_as_batch=True, directory=str(MIGRATIONS_DIR))


class MigrationsGroup(click.Group):
    """`flask db`: Flask-Migrate's command group, loaded and bound on first use.

    Click builds a command's context with `make_context` and then runs the
    context's own command, so handing over Flask-Migrate's group there runs
    its options, subcommands and help unchanged.
    """

    def __init__(self, app: Flask) -> None:
        super().__init__("db", help="Perform database migrations (Flask-Migrate).")
        self.app = app

    def _group(self) -> click.Group:
        if "migrate" not in self.app.extensions:
            bind(self.app)
        # Imported here, after `bind` has loaded Flask-Migrate: see the module docstring.
        from flask_migrate.cli import db as flask_migrate_group

        return flask_migrate_group

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        return self._group().make_context(info_name, args, parent=parent, **extra)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._group().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self._group().get_command(ctx, name)


def register_migrations(app: Flask) -> None:
    """Give the app its `flask db` commands without loading Alembic now."""
    app.cli.add_command(MigrationsGroup(app))
