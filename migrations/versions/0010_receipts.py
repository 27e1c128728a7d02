"""Delivery receipts and suppressions.

Notifications gain the status `delivered` (the column is already 16 characters
wide since 0009), `delivered_at`, `unsubscribe` and an index on
`provider_message_id` (receipts find a notification by it). Webhooks gain the
event bit 8 (`notification.delivered`): the event mask check widens to 1-15.
The `suppressions` table is new (AUTOINCREMENT on SQLite: ids never reused).

SQLite cannot alter a CHECK constraint: `notifications` and `webhooks` are
copied (batch mode) with foreign keys off around the copy and their triggers
created again afterwards, as migration 0007 does.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OLD_STATUSES = "('pending', 'sending', 'sent', 'failed', 'cancelled')"
NEW_STATUSES = "('pending', 'sending', 'sent', 'failed', 'cancelled', 'delivered')"
HAS_PROVIDER_ID = sa.text("provider_message_id IS NOT NULL")


def _sqlite_foreign_keys(on: bool) -> None:
    """Switch SQLite's foreign keys off (or back on) around a table copy; see 0007."""
    bind = op.get_bind()
    bind.connection.dbapi_connection.commit()
    bind.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar() != int(on):
        raise RuntimeError("SQLite did not switch its foreign keys")
    if on and bind.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
        raise RuntimeError("a table copy broke a foreign key")


def _checks(statuses: str, highest_event: int, width: int, drop: tuple[str, ...] = ()) -> None:
    """The status and event CHECKs (and the status width); `drop`: notification columns
    to remove in the same copy, so that its triggers are restored after it."""
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    if not postgres:
        _sqlite_foreign_keys(False)
    for table, name, check, column in (
        ("notifications", "status", f"status IN {statuses}", "status"),
        ("webhooks", "event_mask", f"event_mask BETWEEN 1 AND {highest_event}", None),
    ):
        triggers = []
        if not postgres:
            triggers = (
                bind.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
                    (table,),
                )
                .scalars()
                .all()
            )
        with op.batch_alter_table(table, table_kwargs={"sqlite_autoincrement": True}) as batch:
            batch.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
            if column:
                batch.alter_column(column, type_=sa.String(length=width))
                for name_to_drop in drop:
                    batch.drop_column(name_to_drop)
            batch.create_check_constraint(op.f(f"ck_{table}_{name}"), sa.text(check))
        if column:
            # While the copy has no triggers: they name the counts table, so SQLite
            # refuses to drop and rename it under them.
            with op.batch_alter_table("notification_counts") as counts:
                counts.alter_column("status", type_=sa.String(length=width))
        for sql in triggers:  # dropping the old copy dropped them
            op.execute(sql)
    if not postgres:
        _sqlite_foreign_keys(True)


def upgrade():
    op.add_column("notifications", sa.Column("delivered_at", sa.DateTime(timezone=True)))
    op.add_column(
        "notifications",
        sa.Column("unsubscribe", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    _checks(NEW_STATUSES, 15, 16)
    op.create_index(
        "ix_notifications_provider_message_id",
        "notifications",
        ["provider_message_id"],
        postgresql_where=HAS_PROVIDER_ID,
        sqlite_where=HAS_PROVIDER_ID,
    )
    op.create_table(
        "suppressions",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("target", sa.String(length=4096), nullable=False),
        sa.Column("target_prefix", sa.String(length=255), nullable=False),
        sa.Column("target_hash", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=12), nullable=False),
        sa.Column("notification_id", BIG_ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "reason IN ('manual', 'rejected', 'receipt', 'unsubscribe')",
            name=op.f("ck_suppressions_reason"),
        ),
        sa.CheckConstraint(
            "channel IN ('email', 'sms', 'push')", name=op.f("ck_suppressions_channel")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_suppressions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressions")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "uq_suppressions_user_channel_hash",
        "suppressions",
        ["user_id", "channel", "target_hash"],
        unique=True,
    )
    op.create_index(
        "ix_suppressions_lookup", "suppressions", ["user_id", "channel", "target_prefix"]
    )
    op.create_index("ix_suppressions_user_created", "suppressions", ["user_id", "created_at", "id"])


def downgrade():
    op.drop_table("suppressions")
    op.drop_index("ix_notifications_provider_message_id", table_name="notifications")
    # A delivered notification was sent: it goes back to `sent`.
    op.execute("UPDATE notifications SET status = 'sent' WHERE status = 'delivered'")
    op.execute("UPDATE webhooks SET event_mask = event_mask & 7 WHERE event_mask & 7 != 0")
    op.execute("UPDATE webhooks SET event_mask = 7 WHERE event_mask & 7 = 0")
    _checks(OLD_STATUSES, 7, 16, drop=("unsubscribe", "delivered_at"))
