"""API keys; notifications gain `sandbox` and `api_key_id`; counts gain `sandbox`.

The list's totals come from `notification_counts` (migration 0002); the new
`sandbox` filter needs them per sandbox too, so the counts table gets that
dimension (its primary key changes) and its triggers count it. The table is
derived data: it is rebuilt from `notifications` here, in the same transaction.

SQLite cannot add a foreign key to a table: `notifications` is copied (batch
mode), which drops its triggers; the count triggers are created again, with the
new column, once the counts table is rebuilt.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _counts_function(columns: str) -> str:
    """0002's statement-level counter function, over `columns` (the key of a count)."""
    return f"""
CREATE OR REPLACE FUNCTION notification_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO notification_counts AS c ({columns}, total)
        SELECT {columns}, count(*) FROM new_rows
        GROUP BY {columns} ORDER BY {columns}
        ON CONFLICT ({columns}) DO UPDATE SET total = c.total + EXCLUDED.total;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO notification_counts AS c ({columns}, total)
        SELECT {columns}, -count(*) FROM old_rows
        GROUP BY {columns} ORDER BY {columns}
        ON CONFLICT ({columns}) DO UPDATE SET total = c.total + EXCLUDED.total;
    ELSE
        INSERT INTO notification_counts AS c ({columns}, total)
        SELECT {columns}, sum(delta) FROM (
            SELECT {columns}, 1 AS delta FROM new_rows
            UNION ALL
            SELECT {columns}, -1 FROM old_rows
        ) AS changes
        GROUP BY {columns} HAVING sum(delta) <> 0 ORDER BY {columns}
        ON CONFLICT ({columns}) DO UPDATE SET total = c.total + EXCLUDED.total;
    END IF;
    RETURN NULL;
END
$$
"""


def _sqlite_triggers(columns: list[str]) -> list[str]:
    """0002's row-level SQLite triggers, over `columns`."""

    def upsert(row: str, delta: str) -> str:
        values = ", ".join(f"{row}.{name}" for name in columns)
        return (
            f"INSERT INTO notification_counts ({', '.join(columns)}, total)"
            f" VALUES ({values}, {delta})"
            f" ON CONFLICT ({', '.join(columns)}) DO UPDATE SET total = total + excluded.total;"
        )

    changed = " OR ".join(f"OLD.{name} IS NOT NEW.{name}" for name in columns)
    return [
        "CREATE TRIGGER notification_counts_insert AFTER INSERT ON notifications"
        f" BEGIN {upsert('NEW', '1')} END",
        "CREATE TRIGGER notification_counts_delete AFTER DELETE ON notifications"
        f" BEGIN {upsert('OLD', '-1')} END",
        f"CREATE TRIGGER notification_counts_update AFTER UPDATE OF {', '.join(columns)}"
        f" ON notifications WHEN {changed}"
        f" BEGIN {upsert('OLD', '-1')} {upsert('NEW', '1')} END",
    ]


def _sqlite_foreign_keys(on: bool) -> None:
    """Switch SQLite's foreign keys off around the batch copy of `notifications`.

    With them on, dropping the old copy deletes its rows first, and that delete
    cascades: every delivery attempt would go. SQLite ignores the pragma inside a
    transaction, so the driver's open transaction (SQLite DDL here is not run as
    one unit anyway) is committed first: SQLite's own procedure for rebuilding a
    table. Switching back on, the copy is checked for broken references.
    """
    bind = op.get_bind()
    bind.connection.dbapi_connection.commit()
    bind.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar() != int(on):
        raise RuntimeError("SQLite did not switch its foreign keys")
    if on and bind.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
        raise RuntimeError("the copy of notifications broke a foreign key")


OLD_KEY = ["user_id", "status", "channel"]
NEW_KEY = [*OLD_KEY, "sandbox"]


def _rebuild_counts(key: list[str]) -> None:
    """Drop and recreate `notification_counts` keyed by `key`, counted from the rows."""
    postgres = op.get_bind().dialect.name == "postgresql"
    op.drop_table("notification_counts")
    columns = [
        sa.Column("user_id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
    ]
    if "sandbox" in key:
        columns.append(
            sa.Column("sandbox", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "notification_counts",
        *columns,
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*key, name=op.f("pk_notification_counts")),
    )
    names = ", ".join(key)
    op.execute(
        f"INSERT INTO notification_counts ({names}, total)"
        f" SELECT {names}, count(*) FROM notifications GROUP BY {names}"
    )
    if postgres:
        op.execute(_counts_function(names))
    else:
        for statement in _sqlite_triggers(key):
            op.execute(statement)


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "api_keys",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=4), nullable=False),
        sa.Column("scope_mask", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("mode IN ('live', 'test')", name=op.f("ck_api_keys_mode")),
        sa.CheckConstraint("scope_mask BETWEEN 1 AND 7", name=op.f("ck_api_keys_scope_mask")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_keys_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
    )
    op.create_index("ix_api_keys_user_created", "api_keys", ["user_id", "created_at", "id"])
    op.create_index("uq_api_keys_key_hash", "api_keys", ["key_hash"], unique=True)

    if not postgres:  # the batch copy below drops the table's triggers
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER notification_counts_{name}")
        _sqlite_foreign_keys(False)
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(
            sa.Column("sandbox", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("api_key_id", BIG_ID, nullable=True))
        batch.create_foreign_key(
            op.f("fk_notifications_api_key_id_api_keys"),
            "api_keys",
            ["api_key_id"],
            ["id"],
            ondelete="SET NULL",
        )
    if not postgres:
        _sqlite_foreign_keys(True)
    op.create_index(
        "ix_notifications_user_sandbox_created",
        "notifications",
        ["user_id", "created_at", "id"],
        postgresql_where=sa.text("sandbox"),
        sqlite_where=sa.text("sandbox"),
    )
    op.create_index(
        "ix_notifications_api_key",
        "notifications",
        ["api_key_id"],
        postgresql_where=sa.text("api_key_id IS NOT NULL"),
        sqlite_where=sa.text("api_key_id IS NOT NULL"),
    )
    _rebuild_counts(NEW_KEY)


def downgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    if not postgres:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER notification_counts_{name}")
        _sqlite_foreign_keys(False)
    op.drop_index("ix_notifications_api_key", table_name="notifications")
    op.drop_index("ix_notifications_user_sandbox_created", table_name="notifications")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_constraint("fk_notifications_api_key_id_api_keys", type_="foreignkey")
        batch.drop_column("api_key_id")
        batch.drop_column("sandbox")
    if not postgres:
        _sqlite_foreign_keys(True)
    _rebuild_counts(OLD_KEY)
    op.drop_index("uq_api_keys_key_hash", table_name="api_keys")
    op.drop_index("ix_api_keys_user_created", table_name="api_keys")
    op.drop_table("api_keys")
