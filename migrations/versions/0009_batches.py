"""Batches (bulk sends) and the `cancelled` status.

- `batches`: one row per bulk send (AUTOINCREMENT on SQLite: an id is never
  given twice). It has a `sandbox` column, so a test key sees only its own kind.
- `notifications.batch_id`: the batch a notification was sent in, NULL for one
  sent alone. ON DELETE SET NULL: no route deletes a batch (a user's deletion
  removes their notifications by its own cascade), and if a batch row ever goes,
  its notifications and their delivery history stay, as single sends.
  Two partial indexes serve it: (batch_id, status) for a batch's counts (a
  GROUP BY) and its cancel (the pending rows of one batch), and (user_id,
  batch_id, created_at, id) for the list filter `batch_id`.
- `status` gains `cancelled` (nine characters: the column widens from 8 to 16,
  in `notification_counts` too, whose triggers then count it like any status).

The wake-up trigger of 0004 and the counters of 0002/0006 are already
statement-level on PostgreSQL: a multi-row INSERT of a batch runs each once.

SQLite cannot alter a CHECK constraint nor add a foreign key: `notifications`
is copied (batch mode) with its foreign keys switched off around the copy, and
its triggers (the counters) are read from the schema before and created again
after, as 0007 does.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OLD_STATUSES = "('pending', 'sending', 'sent', 'failed')"
NEW_STATUSES = "('pending', 'sending', 'sent', 'failed', 'cancelled')"
IN_BATCH = sa.text("batch_id IS NOT NULL")


def _sqlite_foreign_keys(on: bool) -> None:
    """Switch SQLite's foreign keys off (or back on) around a table copy; see 0006."""
    bind = op.get_bind()
    bind.connection.dbapi_connection.commit()
    bind.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar() != int(on):
        raise RuntimeError("SQLite did not switch its foreign keys")
    if on and bind.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
        raise RuntimeError("the copy of notifications broke a foreign key")


def _alter_notifications(upgrade: bool) -> None:
    """The status check and width, and `batch_id` with its foreign key."""
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    triggers = []
    if sqlite:
        triggers = (
            bind.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger'"
                " AND tbl_name = 'notifications' ORDER BY name"
            )
            .scalars()
            .all()
        )
        _sqlite_foreign_keys(False)
    old, new = (sa.String(8), sa.String(16)) if upgrade else (sa.String(16), sa.String(8))
    statuses = NEW_STATUSES if upgrade else OLD_STATUSES
    with op.batch_alter_table(
        "notifications", table_kwargs={"sqlite_autoincrement": True}
    ) as batch:
        batch.drop_constraint(op.f("ck_notifications_status"), type_="check")
        batch.alter_column("status", existing_type=old, type_=new, existing_nullable=False)
        batch.create_check_constraint(
            op.f("ck_notifications_status"), sa.text(f"status IN {statuses}")
        )
        if upgrade:
            batch.add_column(sa.Column("batch_id", BIG_ID, nullable=True))
            batch.create_foreign_key(
                op.f("fk_notifications_batch_id_batches"),
                "batches",
                ["batch_id"],
                ["id"],
                ondelete="SET NULL",
            )
        else:
            batch.drop_constraint(op.f("fk_notifications_batch_id_batches"), type_="foreignkey")
            batch.drop_column("batch_id")
    # Before the counters' triggers are back on SQLite: they name this table, and
    # its copy cannot be renamed while a trigger refers to it.
    with op.batch_alter_table("notification_counts") as batch:
        batch.alter_column("status", existing_type=old, type_=new, existing_nullable=False)
    if sqlite:
        for sql in triggers:  # dropping the old copy dropped them
            op.execute(sql)
        _sqlite_foreign_keys(True)


def upgrade():
    op.create_table(
        "batches",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("template_id", BIG_ID, nullable=False),
        sa.Column("template_version", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("sandbox", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("api_key_id", BIG_ID, nullable=True),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_batches_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_batches_api_key_id_api_keys"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_batches_user_created", "batches", ["user_id", "created_at", "id"])
    op.create_index(
        "ix_batches_api_key",
        "batches",
        ["api_key_id"],
        postgresql_where=sa.text("api_key_id IS NOT NULL"),
        sqlite_where=sa.text("api_key_id IS NOT NULL"),
    )
    _alter_notifications(upgrade=True)
    op.create_index(
        "ix_notifications_batch_status",
        "notifications",
        ["batch_id", "status"],
        postgresql_where=IN_BATCH,
        sqlite_where=IN_BATCH,
    )
    op.create_index(
        "ix_notifications_user_batch_created",
        "notifications",
        ["user_id", "batch_id", "created_at", "id"],
        postgresql_where=IN_BATCH,
        sqlite_where=IN_BATCH,
    )


def downgrade():
    # A cancelled notification cannot be expressed any more: it goes.
    op.execute("DELETE FROM notifications WHERE status = 'cancelled'")
    op.drop_index("ix_notifications_user_batch_created", table_name="notifications")
    op.drop_index("ix_notifications_batch_status", table_name="notifications")
    _alter_notifications(upgrade=False)
    op.drop_index("ix_batches_api_key", table_name="batches")
    op.drop_index("ix_batches_user_created", table_name="batches")
    op.drop_table("batches")
