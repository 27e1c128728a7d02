"""What the floor needs from the notifications table, read from the live schema.

The floor INSERT names its columns; every other NOT NULL column must have a server
default, or be one the floor knows how to fill in SQL (FILLERS). inspect_schema checks
that at start-up and names any column that breaks it, so a migration that adds such a
column makes the floor refuse to start rather than fail under load.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg2.extensions

# The columns the floor INSERT supplies; everything else must have a server default.
INSERT_COLUMNS = (
    "user_id",
    "title",
    "content",
    "channel",
    "target",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
    "updated_at",
)

# NOT NULL columns our models fill in Python (no server default) that the floor knows how
# to fill in SQL, as the model would: an edit counter and the provider idempotency key.
# Used only when the column is NOT NULL without a default; any other such column is an error.
FILLERS = {
    "version": "1",
    "delivery_key": "md5(random()::text)",
}

# The notification as the API shows it (GET /notifications/<id>); missing columns are skipped.
OUTPUT_COLUMNS = (
    "id",
    "user_id",
    "title",
    "content",
    "channel",
    "target",
    "status",
    "attempts",
    "scheduled_at",
    "sent_at",
    "error_message",
    "provider_message_id",
    "created_at",
    "updated_at",
)


class SchemaError(RuntimeError):
    """The notifications table cannot take the floor's INSERT."""


@dataclass(frozen=True)
class FloorSchema:
    """What the floor learned about the notifications table at start-up."""

    output_columns: tuple[str, ...]
    fillers: dict[str, str]

    @property
    def select_list(self) -> str:
        return ", ".join(self.output_columns)

    def insert_sql(self, values: dict[str, str], select_from: str = "") -> str:
        """INSERT INTO notifications: INSERT_COLUMNS from `values` (SQL), plus the fillers.

        With select_from, an INSERT ... SELECT (bulk) instead of INSERT ... VALUES.
        """
        columns = {**{c: values[c] for c in INSERT_COLUMNS}, **self.fillers}
        names, exprs = ", ".join(columns), ", ".join(columns.values())
        if select_from:
            return f"INSERT INTO notifications ({names}) SELECT {exprs} FROM {select_from}"
        return f"INSERT INTO notifications ({names}) VALUES ({exprs}) RETURNING {self.select_list}"


def inspect_schema(conn: psycopg2.extensions.connection) -> FloorSchema:
    """Read the notifications columns and check the floor INSERT can fill every NOT NULL one.

    Raises SchemaError naming the NOT NULL columns that have no server default and are not
    in INSERT_COLUMNS (a Python-side default in the ORM does not help a plain INSERT).
    """
    with conn.cursor() as cur:
        cur.execute(
            """
            SELECT column_name, is_nullable, column_default, is_identity
            FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = 'notifications'
            ORDER BY ordinal_position
            """
        )
        rows = cur.fetchall()
    if not rows:
        raise SchemaError("table 'notifications' does not exist in this database")
    names = {name for name, *_ in rows}
    missing = [c for c in INSERT_COLUMNS if c not in names]
    if missing:
        raise SchemaError(f"notifications lacks columns the floor INSERT needs: {missing}")
    no_default = [
        name
        for name, nullable, default, identity in rows
        if nullable == "NO"
        and default is None
        and identity != "YES"
        and name not in INSERT_COLUMNS
        and name != "id"
    ]
    unfillable = [name for name in no_default if name not in FILLERS]
    if unfillable:
        raise SchemaError(
            "notifications has NOT NULL columns without a server default that the floor "
            f"INSERT does not supply: {unfillable}. Give them a server_default in the "
            "migration, or teach bench/floor_app.py FILLERS how to fill them."
        )
    return FloorSchema(
        output_columns=tuple(c for c in OUTPUT_COLUMNS if c in names),
        fillers={name: FILLERS[name] for name in no_default},
    )
