"""The model base: the declarative `Base`, its column types and aware-UTC time.

It imports libraries only, so that `notifier.extensions` (which builds `db` on
`Base`) and every model can import it without an import cycle.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, Table, TypeDecorator, event
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so that Alembic (and batch mode on SQLite) can alter them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL; SQLite only auto-increments an "INTEGER PRIMARY KEY".
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware.

    PostgreSQL keeps the offset (`timestamptz`); SQLite keeps none, so values are
    converted to UTC on the way in and marked UTC on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


@event.listens_for(Table, "after_parent_attach")
def _ids_never_reused(table: Table, parent) -> None:
    """Every table of the models gets `sqlite_autoincrement`: an id is never given twice.

    Without AUTOINCREMENT, SQLite gives a new row the highest id in use plus one,
    so the id of the newest row deleted comes back, and whatever still refers to
    the old row (a process that remembers a key, a delivery result in flight)
    would attach to the new one. PostgreSQL's sequences never go back. Set here,
    once, so a new table cannot forget it (migrations pass it to `create_table`;
    tests/test_ids_never_reused.py checks both). SQLite applies it only to a
    table whose primary key is one integer column; other tables ignore it.
    """
    if parent is Base.metadata:
        table.dialect_kwargs["sqlite_autoincrement"] = True
