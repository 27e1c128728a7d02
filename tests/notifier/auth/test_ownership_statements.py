"""Structural: no statement on the caller's rows can skip the caller's check.

Every statement on the caller's rows is built with `owned()`, which refuses a
statement without the ownership or validity condition, and `run()` refuses any other
statement; a test key's variant of a statement reads and writes sandbox rows only.
"""

import pytest
from sqlalchemy import Boolean, Column, Integer, MetaData, Table, bindparam, delete, insert, select
from sqlalchemy.sql import visitors

from notifier.auth.ownership import CALLERS, OwnershipError, owned, run, verify
from notifier.auth.principal import OWNER, VALIDITY, Kind, auth_required
from notifier.notifications.models import DeliveryAttempt, Notification, NotificationCount
from tests.notifier.auth.ownership_support import sql_text

TABLE = Notification.__table__
# A table with an owner and a sandbox flag, without the notifications' defaults.
PROBE = Table("probe", MetaData(), Column("user_id", Integer), Column("sandbox", Boolean))


def _owned_by(owner, valid):
    return select(TABLE.c.id).where(TABLE.c.user_id == owner, valid)


@pytest.mark.parametrize(
    "builder",
    [
        # No validity condition.
        lambda owner, valid: select(TABLE.c.id).where(TABLE.c.user_id == owner),
        # No ownership.
        lambda owner, valid: select(TABLE.c.id).where(TABLE.c.id == bindparam("id"), valid),
        # Ownership on one table, not on the other one read.
        lambda owner, valid: select(
            TABLE.c.id, select(NotificationCount.total).scalar_subquery()
        ).where(TABLE.c.user_id == owner, valid),
        # Owner compared with something else than equality.
        lambda owner, valid: select(TABLE.c.id).where(TABLE.c.user_id != owner, valid),
        # Attempts without their notification's owner.
        lambda owner, valid: select(DeliveryAttempt.id).where(valid),
        lambda owner, valid: delete(TABLE).where(TABLE.c.id == bindparam("id"), valid),
        # An INSERT of someone else's id.
        lambda owner, valid: insert(TABLE).from_select(
            ["user_id"], select(bindparam("user_id").label("user_id")).where(valid)
        ),
        # The caller's id, written into another column than user_id.
        lambda owner, valid: insert(TABLE).from_select(
            ["attempts", "user_id"],
            select(owner.label("user_id"), bindparam("x").label("attempts")).where(valid),
        ),
    ],
)
def test_a_statement_without_the_callers_condition_is_refused(builder):
    with pytest.raises(OwnershipError):
        owned(builder)


def test_a_statement_with_the_callers_condition_is_accepted():
    statement = owned(_owned_by)
    assert set(statement.variants) == set(CALLERS)
    for variant in statement.variants.values():
        assert any(e.__class__.__name__ == "Exists" for e in visitors.iterate(variant))


def test_only_a_test_keys_variant_reads_sandbox_rows_only():
    statement = owned(_owned_by)
    for (kind, sandbox_only), variant in statement.variants.items():
        restricted = "notifications.sandbox = 1" in sql_text(variant)
        assert restricted is sandbox_only, (kind, sandbox_only)


@pytest.mark.parametrize(
    "builder",
    [
        _owned_by,
        # The counters' total, as the list reads it.
        lambda owner, valid: select(NotificationCount.total).where(
            NotificationCount.user_id == owner, valid
        ),
        # An insert that writes the caller's choice into `sandbox`.
        lambda owner, valid: insert(PROBE).from_select(
            ["user_id", "sandbox"],
            select(owner.label("user_id"), bindparam("sandbox").label("sandbox")).where(valid),
        ),
        # An insert that leaves `sandbox` to its default (false).
        lambda owner, valid: insert(PROBE).from_select(
            ["user_id"], select(owner.label("user_id")).where(valid)
        ),
    ],
)
def test_a_test_keys_statement_on_live_rows_is_refused(builder):
    validity = VALIDITY[Kind.API_KEY]
    with pytest.raises(OwnershipError, match="sandbox = true"):
        verify(builder(OWNER, validity), validity, sandbox_only=True)


def test_a_test_keys_insert_writes_sandbox_whatever_it_is_given():
    statement = owned(
        lambda owner, valid: insert(PROBE).from_select(
            ["user_id", "sandbox"],
            select(owner.label("user_id"), bindparam("sandbox").label("sandbox")).where(valid),
        )
    )
    assert "1 AS sandbox" in sql_text(statement.variants[Kind.API_KEY, True])
    assert "? AS sandbox" in sql_text(statement.variants[Kind.API_KEY, False])


def test_run_refuses_a_bare_statement(app, api):
    with app.test_request_context(headers=api.headers), pytest.raises(OwnershipError):
        run(select(TABLE.c.id))


def test_a_route_checked_in_statement_must_run_one(app, api):
    """`checked_in_statement=True` is enforced: a view that ran no owned statement
    would have answered a revoked token, so it is an error instead."""

    @auth_required(checked_in_statement=True)
    def lazy_view():
        return "answered without checking"

    @auth_required(checked_in_statement=True)
    def diligent_view():
        return str(len(run(owned(_owned_by))))

    with app.test_request_context(headers=api.headers):
        assert diligent_view() == "0"
    with (
        app.test_request_context(headers=api.headers),
        pytest.raises(RuntimeError, match="ran no statement checking the caller"),
    ):
        lazy_view()
