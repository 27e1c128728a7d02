"""An index on `webhook_deliveries.notification_id`.

The console's timeline of a notification lists the webhook deliveries of that
notification; without this index the query reads every delivery of the user's
webhooks. Partial (`notification_id IS NOT NULL`): test events have none.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

HAS_NOTIFICATION = sa.text("notification_id IS NOT NULL")


def upgrade():
    op.create_index(
        "ix_webhook_deliveries_notification",
        "webhook_deliveries",
        ["notification_id"],
        postgresql_where=HAS_NOTIFICATION,
        sqlite_where=HAS_NOTIFICATION,
    )


def downgrade():
    op.drop_index("ix_webhook_deliveries_notification", table_name="webhook_deliveries")
