"""The caller's activity at a glance: counts by hour and status, and the queue's lag.

Both are one statement through `notifier.auth.ownership` (the caller's rows
only, the session checked inside it). The counts are grouped in the database
(`GROUP BY hour, status` over the `(user_id, created_at)` index), so a user
with a million notifications costs one index range scan and at most
24 hours by 6 statuses of rows back, never the rows themselves.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.types import String

from notifier.auth.ownership import owned, run
from notifier.base import UTCDateTime, utcnow
from notifier.notifications.lifecycle import Status
from notifier.notifications.models import Notification

_TABLE = Notification.__table__
HOURS = 24


class HourOf(ColumnElement):
    """The UTC hour of a timestamp as text, `YYYY-MM-DD HH`, in each dialect's words."""

    inherit_cache = True
    type = String()

    def __init__(self, column) -> None:
        self.column = column


@compiles(HourOf)
def _hour_default(element: HourOf, compiler, **kw) -> str:
    return f"strftime('%Y-%m-%d %H', {compiler.process(element.column, **kw)})"


@compiles(HourOf, "postgresql")
def _hour_postgresql(element: HourOf, compiler, **kw) -> str:
    column = compiler.process(element.column, **kw)
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24')"


_HOUR = HourOf(_TABLE.c.created_at).label("hour")

BY_HOUR = owned(
    lambda owner, valid: (
        select(_HOUR, _TABLE.c.status, func.count().label("count"))
        .where(
            _TABLE.c.user_id == owner,
            _TABLE.c.created_at >= bindparam("since", type_=UTCDateTime()),
            valid,
        )
        .group_by(_HOUR, _TABLE.c.status)
    ),
    "activity_by_hour",
)

OLDEST_DUE = owned(
    lambda owner, valid: select(func.min(_TABLE.c.next_attempt_at)).where(
        _TABLE.c.user_id == owner,
        _TABLE.c.status == Status.PENDING.value,
        _TABLE.c.next_attempt_at <= bindparam("now", type_=UTCDateTime()),
        valid,
    ),
    "oldest_due",
)


def hours(now: datetime) -> list[str]:
    """The labels of the last `HOURS` hours, oldest first, the current one last."""
    top = now.replace(minute=0, second=0, microsecond=0)
    return [(top - timedelta(hours=n)).strftime("%Y-%m-%d %H") for n in range(HOURS - 1, -1, -1)]


def by_hour(now: datetime | None = None) -> dict:
    """Counts of the last 24 hours: `{"hours": [...], "counts": {hour: {status: n}},
    "totals": {status: n}}`; hours without notifications are absent from `counts`."""
    now = now or utcnow()
    labels = hours(now)
    since = datetime.strptime(labels[0], "%Y-%m-%d %H").replace(tzinfo=now.tzinfo)
    rows = run(BY_HOUR, {"since": since})
    counts: dict[str, dict[str, int]] = {}
    totals = {status.value: 0 for status in Status}
    for hour, status, count in rows:
        counts.setdefault(hour, {})[status] = int(count)
        totals[status] = totals.get(status, 0) + int(count)
    return {"hours": labels, "counts": counts, "totals": totals}


def queue_lag(now: datetime | None = None) -> timedelta | None:
    """How long the caller's oldest due pending notification has waited; None when none waits."""
    now = now or utcnow()
    oldest = run(OLDEST_DUE, {"now": now}, lambda result: result.scalar())
    if oldest is None:
        return None
    return max(now - oldest, timedelta(0))
