"""Structural: the notification modules cannot go around the ownership gate.

Every statement they hold is an `OwnedStatement` (and its test-key variant reads and
writes sandbox rows only), and they execute SQL only through `run()`, read from their
source, so a new service function cannot go around the gate.
"""

import ast
import importlib
import inspect
import pkgutil

from sqlalchemy import Executable

import notifier.notifications
from notifier.auth.ownership import OwnedStatement, verify
from notifier.auth.principal import VALIDITY, Kind
from tests.notifier.auth.ownership_support import sql_text

# Run on no caller's behalf: the worker's purge of every user's old keys.
NOT_ON_BEHALF_OF_A_CALLER = {("notifier.notifications.retention", "purge_idempotency_keys")}

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
                sql = sql_text(variant)
                for table in ("notifications", "notification_counts"):
                    if f" {table} " in f"{sql} " and "INSERT" not in sql:
                        assert f"{table}.sandbox = 1" in sql, item.name
                checked += 1
    assert checked >= 20
