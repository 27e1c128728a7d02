"""The batches' statements, each through `notifier.auth.ownership`.

Creating a batch is two statements in one transaction: the batch row (INSERT ...
SELECT from the caller's live template, so a template deleted meanwhile inserts
nothing), then every notification in ONE multi-row INSERT ... SELECT over a
JSON array parameter (`json_array_elements` on PostgreSQL, `json_each` on
SQLite): one round trip whatever the number of recipients, and the statement-
level triggers (the counters, the dispatchers' wake-up on PostgreSQL) run once.

A batch's counts are read from its notifications: an indexed GROUP BY on
`batch_id` (`ix_notifications_batch_status`), always current.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Connection,
    RowMapping,
    bindparam,
    cast,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy import Text as SqlText

from notifier.auth.ownership import owned, run
from notifier.batches.models import Batch
from notifier.notifications.models import Notification
from notifier.templates.models import Template

BATCHES = Batch.__table__
NOTIFICATIONS = Notification.__table__
TEMPLATES = Template.__table__
_n = NOTIFICATIONS.c

# What varies per recipient, in the order of each JSON array item.
ROW_FIELDS = ("title", "content", "target", "reference", "delivery_key", "status", "error_message")
# What every notification of a batch shares, given once as bind parameters.
SHARED_FIELDS = (
    "channel",
    "attempts",
    "version",
    "scheduled_at",
    "next_attempt_at",
    "sandbox",
    "api_key_id",
    "template_id",
    "template_version",
    "batch_id",
    "unsubscribe",
    "created_at",
    "updated_at",
)


def _insert_batch(owner, valid):
    values = select(
        owner.label("user_id"),
        func.coalesce(bindparam("name", type_=BATCHES.c.name.type), TEMPLATES.c.name).label("name"),
        TEMPLATES.c.id.label("template_id"),
        bindparam("template_version", type_=BATCHES.c.template_version.type).label(
            "template_version"
        ),
        TEMPLATES.c.channel.label("channel"),
        bindparam("sandbox", type_=BATCHES.c.sandbox.type).label("sandbox"),
        bindparam("api_key_id", type_=BATCHES.c.api_key_id.type).label("api_key_id"),
        bindparam("scheduled_at", type_=BATCHES.c.scheduled_at.type).label("scheduled_at"),
        bindparam("created_at", type_=BATCHES.c.created_at.type).label("created_at"),
    ).where(
        TEMPLATES.c.id == bindparam("template_id"),
        TEMPLATES.c.user_id == owner,
        TEMPLATES.c.deleted_at.is_(None),
        valid,
    )
    return (
        insert(BATCHES)
        .from_select(list(values.selected_columns.keys()), values)
        .returning(*BATCHES.c)
    )


INSERT_BATCH = owned(_insert_batch, "batches.insert")


def _insert_notifications(dialect: str):
    """INSERT ... SELECT over the items of the JSON array `rows`."""

    def build(owner, valid):
        if dialect == "postgresql":
            items = func.json_array_elements(cast(bindparam("rows", type_=SqlText), JSON))
            item = items.table_valued("value").alias("item")
            per_row = [
                item.c.value.op("->>")(literal(index)).label(name)
                for index, name in enumerate(ROW_FIELDS)
            ]
        else:
            item = func.json_each(bindparam("rows", type_=SqlText)).table_valued("value")
            item = item.alias("item")
            per_row = [
                func.json_extract(item.c.value, f"$[{index}]").label(name)
                for index, name in enumerate(ROW_FIELDS)
            ]
        shared = [bindparam(name, type_=_n[name].type).label(name) for name in SHARED_FIELDS]
        values = select(owner.label("user_id"), *per_row, *shared).select_from(item).where(valid)
        return insert(NOTIFICATIONS).from_select(list(values.selected_columns.keys()), values)

    return owned(build, f"batches.insert_notifications({dialect})")


INSERT_NOTIFICATIONS = {
    dialect: _insert_notifications(dialect) for dialect in ("postgresql", "sqlite")
}


def insert_notifications(connection: Connection, params: dict) -> int:
    """Insert every notification of a batch in one statement; how many."""
    statement = INSERT_NOTIFICATIONS[connection.dialect.name]
    return run(statement, params, lambda result: result.rowcount, connection)


# --- reads ---------------------------------------------------------------------------

BATCH_ROW = owned(
    lambda owner, valid: select(BATCHES).where(
        BATCHES.c.id == bindparam("batch_id"), BATCHES.c.user_id == owner, valid
    ),
    "batches.row",
)
BATCH_PAGE = owned(
    lambda owner, valid: (
        select(BATCHES)
        .where(BATCHES.c.user_id == owner, valid)
        .order_by(BATCHES.c.created_at.desc(), BATCHES.c.id.desc())
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
    ),
    "batches.page",
)
BATCH_TOTAL = owned(
    lambda owner, valid: (
        select(func.count()).select_from(BATCHES).where(BATCHES.c.user_id == owner, valid)
    ),
    "batches.total",
)
# Per batch and status: how many, whether any was ever claimed (a claim counts an
# attempt), and when the last one changed (a finished batch's `finished_at`).
COUNTS = owned(
    lambda owner, valid: (
        select(
            _n.batch_id,
            _n.status,
            func.count().label("total"),
            func.max(_n.attempts).label("attempts"),
            func.max(_n.updated_at).label("updated_at"),
        )
        .where(
            _n.batch_id.in_(bindparam("batch_ids", expanding=True)),
            _n.user_id == owner,
            valid,
        )
        .group_by(_n.batch_id, _n.status)
    ),
    "batches.counts",
)
CANCEL = owned(
    lambda owner, valid: (
        update(BATCHES)
        .where(
            BATCHES.c.id == bindparam("cancelled_batch_id"),
            BATCHES.c.user_id == owner,
            BATCHES.c.cancelled_at.is_(None),
            valid,
        )
        .values(cancelled_at=bindparam("now", type_=BATCHES.c.cancelled_at.type))
        .returning(BATCHES.c.id)
    ),
    "batches.cancel",
)


def batch_row(batch_id: int, connection: Connection | None = None) -> RowMapping | None:
    return run(BATCH_ROW, {"batch_id": batch_id}, lambda r: r.mappings().first(), connection)


def counts(batch_ids: list[int], connection: Connection | None = None) -> list[RowMapping]:
    if not batch_ids:
        return []
    return run(COUNTS, {"batch_ids": batch_ids}, lambda r: r.mappings().all(), connection)
