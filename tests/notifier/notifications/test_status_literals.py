"""The state machine has one owner: no status or outcome word is spelled out elsewhere.

Every module of `notifier/` but the `lifecycle` package names a state through
`Status` and an attempt's result through `Outcome`. The rule, checked on the
syntax tree of each file (so comments and docstrings may still use the words):

- no string constant *is* a status or outcome word (`"pending"`, `"sent"`...):
  whether it is a status, an outcome or a counter label, it must come from the
  enums, so a renamed state cannot leave a stale copy behind;
- no string constant holds one as a quoted SQL literal (`"status = 'pending'"`):
  SQL fragments build their literals from the enums too.

The migrations are outside `notifier/` and keep their frozen copies on purpose: a
migration must describe the schema as it was when it was written.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from notifier.notifications.lifecycle import Outcome, Status
from notifier.webhooks.models import DeliveryStatus

PACKAGE = Path(__file__).resolve().parents[3] / "notifier"
OWNER = PACKAGE / "notifications" / "lifecycle"
# The other owners of these words: the webhook deliveries' own states, and the
# metrics' label values, which the docs fix and which `observability`
# keeps to itself (the delivery service loads it, and it imports nothing of notifier).
# A suppression's reasons are words of their own (`rejected` is also an outcome).
OTHER_OWNERS = {
    PACKAGE / "webhooks" / "models.py",
    PACKAGE / "observability" / "metrics.py",
    PACKAGE / "suppressions" / "models.py",
}
WORDS = {member.value for member in (*Status, *Outcome, *DeliveryStatus)}
SQL_LITERAL = re.compile("'(" + "|".join(sorted(WORDS)) + ")'")


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the constants that are docstrings (of a module, class or function)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def status_literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string constant that breaks the rule."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in skip
        and (node.value in WORDS or SQL_LITERAL.search(node.value))
    ]


def _modules() -> list[Path]:
    return sorted(
        p for p in PACKAGE.rglob("*.py") if OWNER not in p.parents and p not in OTHER_OWNERS
    )


def test_the_scan_covers_the_package():
    names = {p.relative_to(PACKAGE).as_posix() for p in _modules()}
    assert {"seed.py", "worker/queue.py", "notifications/service.py"} <= names
    assert not any(name.startswith("notifications/lifecycle/") for name in names)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_status_literal_outside_the_lifecycle(path):
    assert status_literals(path.read_text()) == []


@pytest.mark.parametrize(
    "source",
    [
        'row.status == "pending"',
        "values = {'status': 'sent'}",
        "text(\"status = 'sending' AND x\")",
        'counts["failed"] += 1',
        'outcome = "unavailable"',
        'def f():\n    """Doc."""\n    return "rejected"',
    ],
)
def test_the_rule_catches_each_kind_of_literal(source):
    assert status_literals(source)


@pytest.mark.parametrize(
    "source",
    [
        '"""A docstring may say pending, sent or \'failed\'."""',
        "x = Status.PENDING  # a comment may say 'pending'",
        'message = f"A notification that is {status} cannot be edited"',
        'error = "The delivery service was unavailable."',
        'column = "sent_at"',
    ],
)
def test_the_rule_leaves_other_strings_alone(source):
    assert status_literals(source) == []
