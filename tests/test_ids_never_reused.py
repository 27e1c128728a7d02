"""An id is never given twice: not by the database in use, not by a migrated SQLite
schema, and no model table can be added without that guarantee.

SQLite without AUTOINCREMENT gives a new row the highest id in use plus one, so the
newest deleted row's id comes back; every table with an integer key declares
`sqlite_autoincrement` (once, on the model base) and migration 0007 gives it to the
tables that exist.
"""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import Integer, Table
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateTable

from notifier.extensions import db
from tests.test_migrations import _run
from tests.webhook_support import make_webhook


def _integer_keyed(table: Table) -> bool:
    key = list(table.primary_key.columns)
    return len(key) == 1 and isinstance(key[0].type.dialect_impl(sqlite.dialect()), Integer)


INTEGER_KEYED = sorted(t.name for t in db.metadata.sorted_tables if _integer_keyed(t))


def test_the_tables_with_an_integer_key_are_the_ones_expected():
    """Guards the list the two structural tests below walk (it must not come out empty)."""
    assert {"users", "notifications", "api_keys", "webhooks"} <= set(INTEGER_KEYED)


@pytest.mark.parametrize("name", INTEGER_KEYED)
def test_every_model_table_with_an_integer_key_is_autoincrement_on_sqlite(name):
    table = db.metadata.tables[name]
    assert table.dialect_options["sqlite"]["autoincrement"] is True
    ddl = str(CreateTable(table).compile(dialect=sqlite.dialect()))
    assert "PRIMARY KEY AUTOINCREMENT" in ddl


def test_the_migrated_sqlite_schema_says_autoincrement_for_every_such_table(tmp_path):
    upgrade = _run(["-m", "flask", "--app", "wsgi", "db", "upgrade"], tmp_path)
    assert upgrade.returncode == 0, upgrade.stderr
    with sqlite3.connect(tmp_path / "cli.db") as connection:
        schema = dict(connection.execute("SELECT name, sql FROM sqlite_master WHERE type='table'"))
    for name in INTEGER_KEYED:
        assert "PRIMARY KEY AUTOINCREMENT" in schema[name], name


def _recreated_id(api, path: str, make) -> tuple[int, int]:
    """Make one, delete it, make another: both ids."""
    first = make().get_json()["id"]
    api.delete(f"{path}/{first}", 204)
    return first, make().get_json()["id"]


@pytest.mark.parametrize(
    ("path", "make"),
    [
        ("/notifications", lambda api: api.create()),
        ("/api-keys", lambda api: api.post("/api-keys", 201, json={"name": "k"})),
        ("/webhooks", make_webhook),
    ],
    ids=["notification", "api key", "webhook"],
)
def test_a_deleted_rows_id_is_not_given_to_the_next_one(api, path, make):
    first, second = _recreated_id(api, path, lambda: make(api))
    assert second > first
