"""Ids are never given twice: SQLite tables with an integer key become AUTOINCREMENT.

Without AUTOINCREMENT SQLite gives a new row the highest id in use plus one, so
the id of the newest row deleted comes back: a key remembered by a process, or a
delivery result in flight, would attach to the new row. With it, SQLite keeps the
highest id ever given (`sqlite_sequence`) and never goes back. PostgreSQL's
sequences never go back already: there this migration does nothing.

SQLite cannot alter a table's key, so each table is rebuilt (Alembic's batch
copy): columns, rows, constraints and indexes are copied; the triggers on the
table (the notification counters of migrations 0002 and 0006) are read from the
schema before and created again after. The tables are found in the schema, not
listed here, so a table added by a migration that runs before this one is
covered too. Foreign keys are switched off around the copies, as in 0006, so
that dropping an old copy does not cascade.

The copy starts each table's sequence at its highest id now. An id above it
that was deleted before this upgrade cannot be known, and may be given once
more; a key's credential and a delivery's result are checked against more than
the id (their hash and idempotency key), so even that reuse attaches nothing.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _sqlite_foreign_keys(on: bool) -> None:
    """Switch SQLite's foreign keys off around the copies (see 0006's helper).

    With them on, dropping an old copy deletes its rows first, and the delete
    cascades (a user's notifications, keys, sessions). SQLite ignores the pragma
    inside a transaction, so the driver's open transaction is committed first.
    Switching back on, the copies are checked for broken references.
    """
    bind = op.get_bind()
    bind.connection.dbapi_connection.commit()
    bind.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar() != int(on):
        raise RuntimeError("SQLite did not switch its foreign keys")
    if on and bind.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
        raise RuntimeError("a table copy broke a foreign key")


def _tables(autoincrement: bool) -> list[str]:
    """Tables whose key is one INTEGER column, with (or without) AUTOINCREMENT."""
    bind = op.get_bind()
    rows = bind.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table'"
        " AND name NOT LIKE 'sqlite_%' AND name != 'alembic_version' ORDER BY name"
    ).all()
    found = []
    for name, sql in rows:
        if ("AUTOINCREMENT" in sql.upper()) != autoincrement:
            continue
        key = [c for c in bind.exec_driver_sql(f'PRAGMA table_info("{name}")') if c.pk]
        if len(key) == 1 and key[0].type.upper() == "INTEGER":
            found.append(name)
    return found


def _rebuild(tables: list[str], autoincrement: bool) -> None:
    bind = op.get_bind()
    _sqlite_foreign_keys(False)
    for table in tables:
        triggers = (
            bind.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?"
                " ORDER BY name",
                (table,),
            )
            .scalars()
            .all()
        )
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass
        # Dropping the old copy dropped its triggers.
        for sql in triggers:
            op.execute(sql)
    _sqlite_foreign_keys(True)


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    _rebuild(_tables(autoincrement=False), autoincrement=True)


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    _rebuild(_tables(autoincrement=True), autoincrement=False)
