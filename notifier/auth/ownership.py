"""The one gate of every statement run on behalf of the caller.

A statement on a user's rows (notifications and what hangs off them) is built
with `owned(builder)`: the builder receives the caller's user id (`OWNER`) and
the credential's validity condition, and must put both into the statement, so
that the check stays inside the request's single round trip. `owned` verifies
that it did (every table with a `user_id` compares it to the caller, or an
INSERT writes the caller's id; the validity condition is present) when the
module is imported, and builds one variant per caller in `CALLERS` (a
session, a live key, a test key). `run` executes
only such statements, with the principal's bind parameters; `nothing_matched`
tells a revoked credential (401) from a missing row when one matched nothing.

What a caller may see is decided here too. A test API key sees only sandbox
rows: in its variant of every statement, each condition `user_id = caller` on a
table with a `sandbox` column becomes `user_id = caller AND sandbox = true`, and
an INSERT into such a table writes `sandbox = true`; so to a test key a live
notification does not exist (404, absent from lists and totals), and nothing it
creates or edits can reach a real person. `verify` refuses a test key's variant
without those conditions. An access token and a live key see every row.

Why a gate rather than a convention: the session check used to be pasted into
each statement, and a new statement that forgot it let a revoked token through.
Here a forgotten condition fails at import, a bare statement fails at `run`, and
tests/notifier/auth/test_ownership_sources.py fails when a notification module
executes SQL any other way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Column, Connection, Executable, Insert, Label, Table, and_, true
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, ColumnElement, True_
from werkzeug.exceptions import HTTPException

from notifier.auth.principal import (
    CALLER_USER_ID,
    OWNER,
    VALIDITY,
    Kind,
    current_principal,
    ensure_valid,
    mark_checked,
)
from notifier.database import autocommit

Builder = Callable[[BindParameter, ColumnElement[bool]], Executable]

SANDBOX = "sandbox"
# Every caller a statement is built for: its credential's kind, and whether it is
# a test key (`Principal.sandbox`), which sees sandbox rows only.
CALLERS: tuple[tuple[Kind, bool], ...] = (
    (Kind.SESSION, False),
    (Kind.API_KEY, False),
    (Kind.API_KEY, True),
)


class OwnershipError(TypeError):
    """A statement without the caller's ownership or validity condition."""


class OwnedStatement:
    """A statement restricted to the caller's rows, one variant per caller in `CALLERS`."""

    __slots__ = ("name", "variants")

    def __init__(self, name: str, variants: dict[tuple[Kind, bool], Executable]) -> None:
        self.name = name
        self.variants = variants

    def __repr__(self) -> str:
        return f"<OwnedStatement {self.name}>"


def owned(builder: Builder, name: str | None = None) -> OwnedStatement:
    """Build (once, at import) and verify the statement for every caller: each
    credential kind, and a test key's variant restricted to sandbox rows."""
    variants = {}
    for kind, sandbox_only in CALLERS:
        validity = VALIDITY[kind]
        statement = builder(OWNER, validity)
        if sandbox_only:
            statement = _sandbox_only(statement, validity)
        verify(statement, validity, sandbox_only=sandbox_only)
        variants[kind, sandbox_only] = statement
    return OwnedStatement(name or builder.__qualname__, variants)


def run(
    statement: OwnedStatement,
    params: Mapping[str, Any] | None = None,
    fetch: Callable = lambda result: result.all(),
    connection: Connection | None = None,
):
    """Execute with the caller's parameters; return `fetch(result)`.

    On the autocommit engine (one statement, no BEGIN/COMMIT) unless given the
    connection of a transaction.
    """
    if not isinstance(statement, OwnedStatement):
        raise OwnershipError(f"not built with owned(): {statement!r}")
    principal = current_principal()
    values = principal.bind_params()
    if params:
        values |= params
    executable = statement.variants[principal.kind, principal.sandbox]
    if connection is not None:
        result = fetch(connection.execute(executable, values))
    else:
        with autocommit() as own_connection:
            result = fetch(own_connection.execute(executable, values))
    mark_checked()
    return result


def nothing_matched(error: HTTPException) -> HTTPException:
    """For a statement that matched nothing: raise 401 if the caller's credential
    is no longer valid, else return `error` (404, 409...) for the caller to raise.

    One primary-key read, only on this path: the hot paths stay one round trip.
    """
    ensure_valid()
    return error


def verify(
    statement: Executable, validity: ColumnElement[bool], *, sandbox_only: bool = False
) -> None:
    """Raise OwnershipError unless the statement holds the validity condition and
    restricts (or, for an INSERT, sets) the `user_id` of every table that has one;
    with `sandbox_only` (a test key's variant), also its `sandbox` column to true."""
    inside_validity = {id(element) for element in visitors.iterate(validity)}
    elements = [e for e in visitors.iterate(statement) if id(e) not in inside_validity]
    if not any(element is validity for element in visitors.iterate(statement)):
        raise OwnershipError(f"no validity condition in {statement}")
    tables = {e for e in elements if isinstance(e, Table) and "user_id" in e.c}
    owned_tables = {e.left.table for e in elements if _is_ownership(e)}
    if isinstance(statement, Insert) and _inserts_owner(statement):
        owned_tables.add(statement.table)
    if not owned_tables or tables - owned_tables:
        missing = ", ".join(sorted(t.name for t in tables - owned_tables)) or "any table"
        raise OwnershipError(f"no `user_id = :{CALLER_USER_ID}` for {missing} in {statement}")
    if sandbox_only:
        _verify_sandbox_only(statement, elements, tables)


def _is_ownership(element: Any) -> bool:
    """`<table>.user_id = :caller_user_id`, the condition `verify` looks for."""
    return (
        isinstance(element, BinaryExpression)
        and element.operator is operators.eq
        and isinstance(element.left, Column)
        and element.left.name == "user_id"
        and isinstance(element.right, BindParameter)
        and element.right.key == CALLER_USER_ID
    )


def _is_sandbox_true(element: Any) -> bool:
    return (
        isinstance(element, BinaryExpression)
        and element.operator is operators.eq
        and isinstance(element.left, Column)
        and element.left.name == SANDBOX
        and isinstance(element.right, True_)
    )


def _sandbox_only(statement: Executable, validity: ColumnElement[bool]) -> Executable:
    """A test key's variant: each ownership condition on a table with a `sandbox`
    column gains `AND sandbox = true`, and an INSERT ... SELECT writes true into
    `sandbox`. A copy: the other callers' variants are built separately."""
    inserted = _insert_select(statement)

    def replace(element):
        if element is validity:
            return element  # kept as it is: `verify` finds it by identity
        if _is_ownership(element) and SANDBOX in element.left.table.c:
            return and_(element, element.left.table.c[SANDBOX] == true())
        if isinstance(element, Label) and element.name == SANDBOX and element is inserted:
            return true().label(SANDBOX)
        return None

    return visitors.replacement_traverse(statement, {}, replace)


def _insert_select(statement: Executable) -> Label | None:
    """The `sandbox` label of an INSERT ... SELECT into a table with that column."""
    if not isinstance(statement, Insert) or statement.select is None:
        return None
    if SANDBOX not in statement.table.c:
        return None
    column = statement.select.selected_columns.get(SANDBOX)
    return column if isinstance(column, Label) else None


def _verify_sandbox_only(statement: Executable, elements: list, tables: set) -> None:
    """Every owned table with a `sandbox` column is read as `sandbox = true`, and
    an INSERT into one writes true there."""
    restricted = {e.left.table for e in elements if _is_sandbox_true(e)}
    unrestricted = {t for t in tables if SANDBOX in t.c} - restricted
    if isinstance(statement, Insert):
        unrestricted.discard(statement.table)
        if SANDBOX in statement.table.c:
            label = _insert_select(statement)
            if label is None or not isinstance(label.element, True_):
                raise OwnershipError(f"a test key's insert must write sandbox = true: {statement}")
    if unrestricted:
        names = ", ".join(sorted(t.name for t in unrestricted))
        raise OwnershipError(f"no `sandbox = true` for {names} in a test key's {statement}")


def _inserts_owner(statement: Insert) -> bool:
    """An INSERT ... SELECT that writes the caller's id into `user_id`: the SELECT's
    `user_id` label is the caller's parameter, at the position of `user_id` in the
    INSERT's column list (read from the compiled SQL: from_select's names are not
    public)."""
    select = statement.select
    if select is None:
        return False
    labels = list(select.selected_columns.keys())
    column = select.selected_columns.get("user_id")
    compiled = str(statement.compile())
    names = compiled[compiled.index("(") + 1 : compiled.index(")")].split(", ")
    return (
        names == labels
        and isinstance(column, Label)
        and isinstance(column.element, BindParameter)
        and column.element.key == CALLER_USER_ID
    )
