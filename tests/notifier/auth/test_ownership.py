"""Structural: no route and no notification statement can skip the caller's check.

Three layers, each with a test that it catches what it should (a fourth check
rides on the second: a test key's variant of every statement reads and writes
sandbox rows only):
- every route outside the public allowlist is wrapped, outermost, by
  `auth_required` (so it authenticates before its body is even parsed);
- every statement on the caller's rows is built with `owned()`, which refuses a
  statement without the ownership or validity condition, and `run()` refuses
  any other statement;
- the notification modules execute SQL only through `run()` (read from their
  source), so a new service function cannot go around the gate.
"""

import ast
import importlib
import inspect
import pkgutil

import pytest
from flask import Flask
from sqlalchemy import (
    Boolean,
    Column,
    Executable,
    Integer,
    MetaData,
    Table,
    bindparam,
    delete,
    insert,
    select,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.sql import visitors

import notifier.notifications
from notifier.auth.ownership import CALLERS, OwnedStatement, OwnershipError, owned, run, verify
from notifier.auth.principal import OWNER, VALIDITY, Kind, auth_required
from notifier.notifications.models import DeliveryAttempt, Notification, NotificationCount
from tests.test_route_auth import PUBLIC

TABLE = Notification.__table__
# A table with an owner and a sandbox flag, without the notifications' defaults.
PROBE = Table("probe", MetaData(), Column("user_id", Integer), Column("sandbox", Boolean))
# Run on no caller's behalf: the worker's purge of every user's old keys.
NOT_ON_BEHALF_OF_A_CALLER = {("notifier.notifications.retention", "purge_idempotency_keys")}
# Guarded by a credential of its own (METRICS_TOKEN), not by a user's.
OPERATOR_ROUTES = {("GET", "/metrics")}
# The web console's pages: its blueprint's gate makes the session cookie the
# request's Principal (notifier.console.session.start, which asks is_valid) before
# any view runs; its sign-in page and static files are public.
CONSOLE_BLUEPRINT = "console"


def _console_gated(app: Flask, endpoint: str) -> bool:
    from notifier.console.blueprint import _gate

    return endpoint.startswith(f"{CONSOLE_BLUEPRINT}.") and _gate in app.before_request_funcs.get(
        CONSOLE_BLUEPRINT, []
    )


def unguarded_routes(app: Flask) -> list[str]:
    """Routes whose view is not wrapped, outermost, by auth_required."""
    found = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if _console_gated(app, rule.endpoint):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if (method, rule.rule) in PUBLIC | OPERATOR_ROUTES:
                continue
            view_class = getattr(view, "view_class", None)
            handler = getattr(view_class, method.lower(), None) if view_class else view
            if getattr(handler, "auth_requirement", None) is None:
                found.append(f"{method} {rule.rule}")
    return found


def test_every_route_asks_the_principal_module(app):
    assert unguarded_routes(app) == []


def test_a_route_without_the_decorator_is_found(app):
    probe = Flask("probe")
    probe.add_url_rule("/notifications/export", "export", lambda: "")
    probe.add_url_rule("/notifications/own", "own", auth_required()(lambda: ""))
    assert unguarded_routes(probe) == ["GET /notifications/export"]


# The modules that run statements on a caller's behalf: every module of
# `notifier.notifications` and the caller's transitions of its state machine. The
# dispatcher's transitions (`lifecycle.claims`, `lifecycle.results`) act for no caller.
CALLER_LIFECYCLE_MODULES = ("notifier.notifications.lifecycle.requests",)


def _notification_modules():
    package = notifier.notifications
    for info in pkgutil.iter_modules(package.__path__):
        yield importlib.import_module(f"{package.__name__}.{info.name}")
    for name in CALLER_LIFECYCLE_MODULES:
        yield importlib.import_module(name)


def _values(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _values(item)
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _values(item)
    else:
        yield value


def test_every_statement_of_the_notification_modules_is_owned():
    owned_count = 0
    for module in _notification_modules():
        for name, value in vars(module).items():
            for item in _values(value):
                assert not isinstance(item, Executable), f"{module.__name__}.{name}: use owned()"
                owned_count += isinstance(item, OwnedStatement)
    assert owned_count >= 20


# Methods that run SQL or reach a connection (`scalar(statement)` runs one;
# `result.scalar()`, without arguments, reads a result `run()` returned).
_EXECUTING = {"execute", "exec_driver_sql", "connect", "begin", "engine"}
_EXECUTING_WITH_ARGUMENTS = {"scalar", "scalars"}


def _sql_outside_the_gate(module_name: str, source: str) -> list[str]:
    """Calls that execute SQL, or reach a connection, in the functions of a module."""
    tree = ast.parse(source)
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef):
            continue
        if (module_name, function.name) in NOT_ON_BEHALF_OF_A_CALLER:
            continue
        for node in ast.walk(function):
            text = ast.unparse(node) if isinstance(node, ast.Call) else ""
            if not text:
                continue
            called = node.func
            attribute = called.attr if isinstance(called, ast.Attribute) else None
            name = called.id if isinstance(called, ast.Name) else None
            session = "db.session" in text and text != "db.session.connection()"
            executing = attribute in _EXECUTING or name == "autocommit" or session
            if executing or (attribute in _EXECUTING_WITH_ARGUMENTS and node.args):
                found.append(f"{module_name}.{function.name}: {text}")
    return found


def test_notification_modules_execute_sql_only_through_the_gate():
    found = []
    for module in _notification_modules():
        found += _sql_outside_the_gate(module.__name__, inspect.getsource(module))
    assert found == []


BYPASSES = """
def read(notification_id):
    with autocommit() as connection:
        return connection.execute(GET, {"id": notification_id}).first()

def count():
    return db.session.query(Notification).count()

def purge_idempotency_keys(older_than):
    db.session.execute(delete(IdempotencyKey))
"""


def test_the_source_check_finds_sql_outside_the_gate():
    found = _sql_outside_the_gate("notifier.notifications.service", BYPASSES)
    # The purge is exempt only where it belongs, in `retention`.
    assert {line.split(":")[0].rsplit(".", 1)[1] for line in found} == {
        "read",
        "count",
        "purge_idempotency_keys",
    }


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


def _sql(statement) -> str:
    return " ".join(str(statement.compile(dialect=sqlite.dialect())).split())


def test_only_a_test_keys_variant_reads_sandbox_rows_only():
    statement = owned(_owned_by)
    for (kind, sandbox_only), variant in statement.variants.items():
        restricted = "notifications.sandbox = 1" in _sql(variant)
        assert restricted is sandbox_only, (kind, sandbox_only)


def test_every_notification_statement_hides_live_rows_from_a_test_key():
    """Each table with a `sandbox` column that a test key's statement reads or
    writes is restricted to sandbox rows (or, for an insert, written as one)."""
    checked = 0
    for module in _notification_modules():
        for value in vars(module).values():
            for item in _values(value):
                if not isinstance(item, OwnedStatement):
                    continue
                variant = item.variants[Kind.API_KEY, True]
                verify(variant, VALIDITY[Kind.API_KEY], sandbox_only=True)
                sql = _sql(variant)
                for table in ("notifications", "notification_counts"):
                    if f" {table} " in f"{sql} " and "INSERT" not in sql:
                        assert f"{table}.sandbox = 1" in sql, item.name
                checked += 1
    assert checked >= 20


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
    assert "1 AS sandbox" in _sql(statement.variants[Kind.API_KEY, True])
    assert "? AS sandbox" in _sql(statement.variants[Kind.API_KEY, False])


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
