"""Migrations are the schema: one head, and the models agree with it."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app

from notifier.extensions import db


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


def test_revisions_are_numbered(app):
    for revision in _script().walk_revisions():
        assert revision.revision.isdigit() and len(revision.revision) == 4
