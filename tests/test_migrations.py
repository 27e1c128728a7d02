"""Migrations are the schema: one head, the models agree with it, and `flask db` runs them."""

import os
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app

from notifier.extensions import db
from notifier.migrate import HEAD_REVISION

ROOT = Path(__file__).resolve().parents[1]


def _script() -> ScriptDirectory:
    config = current_app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config)


def test_there_is_one_head_and_the_database_is_at_it(app):
    heads = _script().get_heads()
    assert len(heads) == 1
    with db.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == heads[0]


def test_models_and_migrations_agree(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        assert compare_metadata(context, db.metadata) == []


def test_revisions_are_numbered_in_order(app):
    """/ready orders revisions by their numbers (a newer release's schema is ready)."""
    for revision in _script().walk_revisions():
        assert revision.revision.isdigit() and len(revision.revision) == 4
        expected_parent = (
            f"{int(revision.revision) - 1:04d}" if revision.revision != "0001" else None
        )
        assert revision.down_revision == expected_parent


def test_the_readiness_check_expects_the_migrations_head(app):
    """/ready compares alembic_version with a constant, to load no Alembic per worker."""
    assert _script().get_heads() == [HEAD_REVISION], (
        f"set notifier.migrate.HEAD_REVISION to {_script().get_heads()}"
    )


def _run(code_or_args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"FLASK_DEBUG", "DATABASE_URL", "FLASK_APP"}
    }
    env |= {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "JWT_SECRET_KEY": "migrations-test-signing-key-0123456789-abcdef",
    }
    return subprocess.run(
        [sys.executable, *code_or_args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_building_the_app_loads_no_alembic(tmp_path):
    """A web worker never migrates: Flask-Migrate (Alembic, Mako) stays out of its memory."""
    probe = (
        "import sys, wsgi; print(sorted({'alembic', 'flask_migrate', 'mako'} & set(sys.modules)))"
    )
    result = _run(["-c", probe], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_flask_db_commands_migrate_a_new_database(tmp_path):
    """`flask db` is registered by the factory and loads Flask-Migrate when it runs."""
    flask_db = ["-m", "flask", "--app", "wsgi", "db"]
    upgrade = _run([*flask_db, "upgrade"], tmp_path)
    assert upgrade.returncode == 0, upgrade.stderr
    current = _run([*flask_db, "current"], tmp_path)
    assert current.returncode == 0, current.stderr
    assert f"{HEAD_REVISION} (head)" in current.stdout
