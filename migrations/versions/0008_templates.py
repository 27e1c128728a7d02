"""Templates and their versions; notifications gain `template_id`,
`template_version` and `reference`; API keys gain the `templates:read` scope.

Both new tables are AUTOINCREMENT on SQLite: an id, once given, is never given
again (a deleted template only gets `deleted_at`; a deleted user's rows go).

The notification columns are nullable and have no foreign key, so SQLite adds
them in place (ALTER TABLE ADD COLUMN): the table and its triggers stay as
they are. The scope check of `api_keys` widens from 1-7 to 1-15 (the new bit
is 8); SQLite cannot alter a CHECK, so there `api_keys` is copied (batch mode)
with its foreign keys switched off around the copy, as migration 0006 does for
`notifications` (with them on, dropping the old copy would set every
notification's `api_key_id` to NULL).

Revision ID: 0008
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
LIVE = sa.text("deleted_at IS NULL")


def _sqlite_foreign_keys(on: bool) -> None:
    """Switch SQLite's foreign keys off (or back on) around a table copy; see 0006."""
    bind = op.get_bind()
    bind.connection.dbapi_connection.commit()
    bind.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar() != int(on):
        raise RuntimeError("SQLite did not switch its foreign keys")
    if on and bind.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
        raise RuntimeError("the copy of api_keys broke a foreign key")


def _scope_check(highest: int) -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if not postgres:
        _sqlite_foreign_keys(False)
    # The copy is made AUTOINCREMENT: a key's id is never given twice (SQLite would
    # otherwise reuse the highest id after a delete), whatever the copy before it had.
    with op.batch_alter_table("api_keys", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_constraint(op.f("ck_api_keys_scope_mask"), type_="check")
        batch.create_check_constraint(
            op.f("ck_api_keys_scope_mask"), sa.text(f"scope_mask BETWEEN 1 AND {highest}")
        )
    if not postgres:
        _sqlite_foreign_keys(True)


def upgrade():
    op.create_table(
        "templates",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "channel IN ('email', 'sms', 'push')", name=op.f("ck_templates_channel")
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_templates_version")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_templates_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_templates")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_templates_user_created",
        "templates",
        ["user_id", "created_at", "id"],
        postgresql_where=LIVE,
        sqlite_where=LIVE,
    )
    op.create_table(
        "template_versions",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("template_id", BIG_ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["templates.id"],
            name=op.f("fk_template_versions_template_id_templates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_template_versions")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "uq_template_versions_template_version",
        "template_versions",
        ["template_id", "version"],
        unique=True,
    )

    op.add_column("notifications", sa.Column("template_id", BIG_ID, nullable=True))
    op.add_column("notifications", sa.Column("template_version", sa.Integer(), nullable=True))
    op.add_column("notifications", sa.Column("reference", sa.String(length=255), nullable=True))
    op.create_index(
        "ix_notifications_user_template_created",
        "notifications",
        ["user_id", "template_id", "created_at", "id"],
        postgresql_where=sa.text("template_id IS NOT NULL"),
        sqlite_where=sa.text("template_id IS NOT NULL"),
    )
    op.create_index(
        "ix_notifications_user_reference_created",
        "notifications",
        ["user_id", "reference", "created_at", "id"],
        postgresql_where=sa.text("reference IS NOT NULL"),
        sqlite_where=sa.text("reference IS NOT NULL"),
    )
    _scope_check(15)


def downgrade():
    # Keys holding only `templates:read` cannot be expressed any more: they go.
    op.execute("DELETE FROM api_keys WHERE scope_mask & 7 = 0")
    op.execute("UPDATE api_keys SET scope_mask = scope_mask & 7")
    _scope_check(7)
    op.drop_index("ix_notifications_user_reference_created", table_name="notifications")
    op.drop_index("ix_notifications_user_template_created", table_name="notifications")
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        for name in ("reference", "template_version", "template_id"):
            op.drop_column("notifications", name)
    else:
        # SQLite 3.35+ drops a column in place (no copy: the count triggers stay).
        for name in ("reference", "template_version", "template_id"):
            op.execute(f"ALTER TABLE notifications DROP COLUMN {name}")
    op.drop_index("uq_template_versions_template_version", table_name="template_versions")
    op.drop_table("template_versions")
    op.drop_index("ix_templates_user_created", table_name="templates")
    op.drop_table("templates")
