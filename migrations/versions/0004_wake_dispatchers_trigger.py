"""Wake idle dispatchers from the database: NOTIFY when a due pending row is written.

Before, the API sent `NOTIFY notifier_due` itself in every create and edit: one
round trip per write. A statement-level trigger now does it in the same
transaction, for every writer (API, seed, a manual UPDATE), and only when a
written row is pending and due. PostgreSQL only; SQLite's dispatchers poll.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

FUNCTION = """
CREATE FUNCTION notifications_wake_dispatchers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- clock_timestamp(), not now(): the row's time was taken after BEGIN.
    IF EXISTS (
        SELECT 1 FROM new_rows WHERE status = 'pending' AND next_attempt_at <= clock_timestamp()
    ) THEN
        PERFORM pg_notify('notifier_due', '');
    END IF;
    RETURN NULL;
END
$$
"""


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)
    for event in ("INSERT", "UPDATE"):
        op.execute(
            f"CREATE TRIGGER notifications_wake_{event.lower()} AFTER {event} ON notifications"
            " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
            " EXECUTE FUNCTION notifications_wake_dispatchers()"
        )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for event in ("insert", "update"):
        op.execute(f"DROP TRIGGER notifications_wake_{event} ON notifications")
    op.execute("DROP FUNCTION notifications_wake_dispatchers()")
