"""Reads of the caller's notifications: one, a page of the list, the attempts.

Each read is one statement through `notifier.auth.ownership`, with the caller's
ownership and validity condition inside it (one round trip); when it matches
nothing, `nothing_matched` tells a revoked credential (401) from a missing row.
Statements are built once, at import: building them per request cost more than
running them.
"""

from __future__ import annotations

from itertools import combinations

from sqlalchemy import RowMapping, bindparam, func, select

from notifier.auth.ownership import nothing_matched, owned, run
from notifier.errors import not_found
from notifier.notifications.models import DeliveryAttempt, Notification, NotificationCount
from notifier.notifications.schemas import BODY_FIELDS, body_from_values

NOT_FOUND = "Notification not found."
_TABLE = Notification.__table__
_ATTEMPTS_TABLE = DeliveryAttempt.__table__

OWNED_ROW = owned(
    lambda owner, valid: select(_TABLE).where(
        _TABLE.c.id == bindparam("notification_id"), _TABLE.c.user_id == owner, valid
    ),
    "owned_row",
)


def owned_row(notification_id: int) -> RowMapping:
    """The caller's notification as a row; 401 if the credential is gone, else 404."""
    row = run(
        OWNED_ROW,
        {"notification_id": notification_id},
        lambda result: result.mappings().first(),
    )
    if row is None:
        raise nothing_matched(not_found(NOT_FOUND))
    return row


# --- the list -------------------------------------------------------------------------

FILTERS = ("status", "channel", "sandbox", "batch_id", "template_id", "reference")
# The dimensions of the counters table: a list filtered by these only takes its
# total from there; a `batch_id`, `template_id` or `reference` filter counts the matching rows
# (through their partial indexes).
COUNTED = frozenset({"status", "channel", "sandbox"})
_BODY_COLUMNS = [_TABLE.c[name] for name in BODY_FIELDS]


def _list_statements(filters: tuple[str, ...], first_page: bool):
    """The page, each row with the total, and the total alone (for an empty page).

    The total is an uncorrelated subquery of the counters table (kept by
    triggers, O(1); it counts per sandbox too, so every filter it has a
    dimension for has its total), which PostgreSQL runs once per statement;
    docs/operations/performance.md has the measurements behind this shape. Past
    the first page, the page only reads the index when its offset is below the
    total, so a huge `page` costs nothing.
    """
    counts = NotificationCount.__table__

    def total(owner):
        if not COUNTED.issuperset(filters):
            where = [_TABLE.c.user_id == owner, *(_TABLE.c[n] == bindparam(n) for n in filters)]
            return select(func.count()).select_from(_TABLE).where(*where).scalar_subquery()
        where = [counts.c.user_id == owner, *(counts.c[n] == bindparam(n) for n in filters)]
        return select(func.coalesce(func.sum(counts.c.total), 0)).where(*where).scalar_subquery()

    def page(owner, valid):
        where = [_TABLE.c.user_id == owner, *(_TABLE.c[n] == bindparam(n) for n in filters)]
        if not first_page:
            where.append(bindparam("offset") < total(owner))
        return (
            select(total(owner).label("total"), *_BODY_COLUMNS)
            .where(*where, valid)
            .order_by(_TABLE.c.created_at.desc(), _TABLE.c.id.desc())
            .offset(bindparam("offset"))
            .limit(bindparam("limit"))
        )

    def count(owner, valid):
        return select(total(owner).label("total")).where(valid)

    name = f"list{filters}{'' if first_page else '[offset]'}"
    return owned(page, f"{name}.page"), owned(count, f"{name}.count")


# The statements of every subset of the counted filters, in FILTERS' order (the key
# list_page looks up), built at import. The subsets with `batch_id`, `template_id` or
# `reference` are built on first use: each costs memory in every worker, and most
# workers never see most of them.
_LIST = {
    (filters, first_page): _list_statements(filters, first_page)
    for size in range(len(COUNTED) + 1)
    for filters in combinations([name for name in FILTERS if name in COUNTED], size)
    for first_page in (True, False)
}


def _statements(filters: tuple[str, ...], first_page: bool):
    statements = _LIST.get((filters, first_page))
    if statements is None:
        # setdefault: two threads building it at once keep one.
        statements = _LIST.setdefault((filters, first_page), _list_statements(filters, first_page))
    return statements


def list_page(filters: dict, page: int, page_size: int) -> tuple[list[dict], int]:
    """One page of bodies, newest first (ties: higher id first), and the total count.

    One statement; a second one only when the page is empty, for the total.
    """
    used = tuple(name for name in FILTERS if name in filters)
    page_query, count_query = _statements(used, page == 1)
    params = {name: filters[name] for name in used}
    # Clamped into a 64-bit integer: any offset that large is past the total.
    params |= {"offset": min((page - 1) * page_size, 2**62), "limit": page_size}
    rows = run(page_query, params)
    if rows:
        # int(): PostgreSQL's sum() of a bigint is a numeric (a Decimal here).
        return [body_from_values(row[1:]) for row in rows], int(rows[0][0])
    total = run(count_query, params, lambda result: result.scalar())
    if total is None:  # the count has no row only when the credential is gone
        raise nothing_matched(RuntimeError("the count matched nothing for a valid caller"))
    return [], int(total)


# --- attempts -----------------------------------------------------------------------------

ATTEMPTS = owned(
    lambda owner, valid: (
        select(_TABLE.c.id.label("owned_id"), _ATTEMPTS_TABLE)
        .select_from(
            _TABLE.outerjoin(_ATTEMPTS_TABLE, _ATTEMPTS_TABLE.c.notification_id == _TABLE.c.id)
        )
        .where(_TABLE.c.id == bindparam("notification_id"), _TABLE.c.user_id == owner, valid)
        .order_by(_ATTEMPTS_TABLE.c.number, _ATTEMPTS_TABLE.c.id)
    ),
    "attempts",
)


def attempts(notification_id: int) -> list[RowMapping]:
    """The attempts of the caller's notification, oldest first; 401 or 404 as `owned_row`.

    One statement: the notification outer-joined to its attempts, so a
    notification without attempts is one row of nulls and a missing one no row.
    """
    rows = run(ATTEMPTS, {"notification_id": notification_id}, lambda r: r.mappings().all())
    if not rows:
        raise nothing_matched(not_found(NOT_FOUND))
    return [row for row in rows if row["id"] is not None]
