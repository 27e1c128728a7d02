"""Count notifications per user, status and channel, kept by triggers.

The list's `X-Pagination` total then reads at most twelve rows instead of
counting a user's notifications, however many there are.

PostgreSQL uses statement-level triggers with transition tables: one upsert per
statement, its rows locked in sorted order, so concurrent claims and edits
cannot deadlock on the counters. SQLite has row-level triggers only (and one
writer at a time). A later batch migration that recreates `notifications` on
SQLite must create these triggers again.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Transition tables exist only for the events a trigger is declared with, hence
# one branch per event (plpgsql plans each branch on first use).
POSTGRES_FUNCTION = """
CREATE FUNCTION notification_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO notification_counts AS c (user_id, status, channel, total)
        SELECT user_id, status, channel, count(*) FROM new_rows
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (user_id, status, channel) DO UPDATE SET total = c.total + EXCLUDED.total;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO notification_counts AS c (user_id, status, channel, total)
        SELECT user_id, status, channel, -count(*) FROM old_rows
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (user_id, status, channel) DO UPDATE SET total = c.total + EXCLUDED.total;
    ELSE
        INSERT INTO notification_counts AS c (user_id, status, channel, total)
        SELECT user_id, status, channel, sum(delta) FROM (
            SELECT user_id, status, channel, 1 AS delta FROM new_rows
            UNION ALL
            SELECT user_id, status, channel, -1 FROM old_rows
        ) AS changes
        GROUP BY 1, 2, 3 HAVING sum(delta) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (user_id, status, channel) DO UPDATE SET total = c.total + EXCLUDED.total;
    END IF;
    RETURN NULL;
END
$$
"""

POSTGRES_TRIGGERS = [
    "CREATE TRIGGER notification_counts_insert AFTER INSERT ON notifications"
    " REFERENCING NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION notification_counts_apply()",
    "CREATE TRIGGER notification_counts_delete AFTER DELETE ON notifications"
    " REFERENCING OLD TABLE AS old_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION notification_counts_apply()",
    "CREATE TRIGGER notification_counts_update AFTER UPDATE ON notifications"
    " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION notification_counts_apply()",
]


def _sqlite_upsert(row: str, delta: str) -> str:
    return (
        "INSERT INTO notification_counts (user_id, status, channel, total)"
        f" VALUES ({row}.user_id, {row}.status, {row}.channel, {delta})"
        " ON CONFLICT (user_id, status, channel) DO UPDATE SET total = total + excluded.total;"
    )


SQLITE_TRIGGERS = [
    "CREATE TRIGGER notification_counts_insert AFTER INSERT ON notifications"
    f" BEGIN {_sqlite_upsert('NEW', '1')} END",
    "CREATE TRIGGER notification_counts_delete AFTER DELETE ON notifications"
    f" BEGIN {_sqlite_upsert('OLD', '-1')} END",
    "CREATE TRIGGER notification_counts_update AFTER UPDATE OF user_id, status, channel"
    " ON notifications WHEN OLD.user_id IS NOT NEW.user_id OR OLD.status IS NOT NEW.status"
    " OR OLD.channel IS NOT NEW.channel"
    f" BEGIN {_sqlite_upsert('OLD', '-1')} {_sqlite_upsert('NEW', '1')} END",
]


def upgrade():
    op.create_table(
        "notification_counts",
        sa.Column(
            "user_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "user_id", "status", "channel", name=op.f("pk_notification_counts")
        ),
    )
    # Rows that exist already (an upgrade of a live database).
    op.execute(
        "INSERT INTO notification_counts (user_id, status, channel, total)"
        " SELECT user_id, status, channel, count(*) FROM notifications GROUP BY 1, 2, 3"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        for statement in POSTGRES_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade():
    for name in ("insert", "delete", "update"):
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER notification_counts_{name} ON notifications")
        else:
            op.execute(f"DROP TRIGGER notification_counts_{name}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION notification_counts_apply()")
    op.drop_table("notification_counts")
