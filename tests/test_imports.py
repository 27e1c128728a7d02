"""Structure: imports between notifier's modules point one way.

Built from the source with `ast`: the graph of imports has no cycle, counting
imports inside functions too (moving one into a function hides a cycle, it
does not remove it), `extensions` sits at the bottom of it, and an import
inside a function says why it is there.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "notifier"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _targets(node: ast.Import | ast.ImportFrom) -> list[str]:
    """The notifier modules an import statement loads (`from a import b`: a.b if a module)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif node.level or not node.module:
        raise AssertionError(f"relative import at line {node.lineno}: use absolute imports")
    else:
        names = [
            f"{node.module}.{alias.name}"
            if f"{node.module}.{alias.name}" in MODULES
            else node.module
            for alias in node.names
        ]
    return [name for name in names if name in MODULES]


def _imports(path: Path) -> tuple[set[str], list[ast.stmt]]:
    """(notifier modules the file imports anywhere, import statements inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported: set[str] = set()
    nested: list[ast.stmt] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                if in_function:
                    nested.append(child)
                if not _under_type_checking(tree, child):
                    imported.update(_targets(child))
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            visit(child, inner)

    visit(tree, False)
    return imported, nested


def _under_type_checking(tree: ast.Module, node: ast.stmt) -> bool:
    return any(
        isinstance(block, ast.If)
        and isinstance(block.test, ast.Name)
        and block.test.id == "TYPE_CHECKING"
        and node in block.body
        for block in tree.body
    )


GRAPH = {name: _imports(path)[0] for name, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle found by a depth-first walk (each reported once, from where it closes)."""
    found: list[list[str]] = []
    state: dict[str, str] = {}

    def walk(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                found.append([*trail[trail.index(target) :], target])
            elif target not in state:
                walk(target, [*trail, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            walk(module, [module])
    return found


def test_the_package_is_found() -> None:
    assert {"notifier.extensions", "notifier.database", "notifier.errors", "notifier.web"} <= set(
        MODULES
    )


def test_imports_have_no_cycle() -> None:
    assert _cycles(GRAPH) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_extensions_import_libraries_and_the_model_base_only() -> None:
    assert GRAPH["notifier.extensions"] <= {"notifier.base"}
    assert GRAPH["notifier.base"] == set()


CHANNELS = sorted(name for name in MODULES if name.split(".")[:2] == ["notifier", "channels"])
SHARED = ["notifier.web", "notifier.pagination", *CHANNELS]


@pytest.mark.parametrize("module", SHARED)
def test_shared_modules_load_no_app_and_no_database(module: str) -> None:
    """What the delivery service imports from notifier must not bring the API with it.

    They may import each other (web checks text with the channels' rules; the channels
    package is its modules), and the same test holds each of them.
    """
    assert GRAPH[module] <= {"notifier.pagination", *CHANNELS} - {module}


def _has_reason(lines: list[str], node: ast.stmt) -> bool:
    """A comment on the import's line, or above the block of imports it belongs to."""
    line = lines[node.lineno - 1]
    if "#" in line and "noqa" not in line.split("#", 1)[1]:
        return True
    number = node.lineno - 2
    while number >= 0:
        text = lines[number].strip()
        if text.startswith("#"):
            return True
        if not text or text.startswith(("from ", "import ")):
            number -= 1
            continue
        return False
    return False


@pytest.mark.parametrize("name", sorted(MODULES), ids=str)
def test_an_import_inside_a_function_says_why(name: str) -> None:
    path = MODULES[name]
    lines = path.read_text(encoding="utf-8").splitlines()
    silent = [node.lineno for node in _imports(path)[1] if not _has_reason(lines, node)]
    assert silent == [], f"{path.relative_to(ROOT)}: imports inside functions at lines {silent}"


@pytest.mark.parametrize(
    "module",
    ["notifier.suppressions.matching", "notifier.notifications.lifecycle", "bench.delivery_data"],
)
def test_a_module_imports_first_in_a_fresh_interpreter(module: str) -> None:
    """Tools (the benches, a shell) import these before any app: a package's
    `__init__` importing its routes once made `notifier.suppressions.matching` fail
    with a circular import when it came first."""
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


# The API's own libraries and modules: a dispatcher that loaded them would carry
# them for nothing (docs/operations/performance.md has what they cost).
API_ONLY = (
    "flask_jwt_extended",
    "jwt",
    "cryptography",
    "argon2",
    "notifier.app",
    "notifier.auth.principal",
    "notifier.auth.routes",
    "notifier.console",
    "notifier.notifications.routes",
    "notifier.notifications.service",
    "notifier.openapi",
    "notifier.users.routes",
    "notifier.webhooks.routes",
)
# The delivery service's HTTP library: the dispatcher and the webhook sender use urllib3's
# pools directly (docs/operations/performance.md says what requests cost per delivery).
NOT_IN_THE_DISPATCHER = (*API_ONLY, "requests")


def test_the_dispatchers_app_loads_no_api_module() -> None:
    """What `flask --app wsgi worker` builds, in a fresh interpreter: the worker's
    modules and what its command imports when it runs, and none of `NOT_IN_THE_DISPATCHER`."""
    code = (
        "import sys\n"
        "sys.argv = ['flask', '--app', 'wsgi', 'worker']\n"
        "import wsgi\n"
        "from notifier.worker import runner, command\n"
        "import notifier.notifications.retention, notifier.webhooks.sender\n"
        "assert 'worker' in wsgi.app.cli.commands\n"
        f"print(sorted(m for m in {NOT_IN_THE_DISPATCHER!r} if m in sys.modules))\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "JWT_SECRET_KEY": "k" * 48,
        "DATABASE_URL": "sqlite:///:memory:",
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_other_commands_and_servers_get_the_api() -> None:
    from notifier.worker.app import runs_worker

    assert runs_worker(["/venv/bin/flask", "--app", "wsgi", "worker", "--once"])
    assert runs_worker(["/x/site-packages/flask/__main__.py", "-A", "wsgi", "worker"])
    assert runs_worker(["flask", "--app=wsgi", "--debug", "worker"])
    assert not runs_worker(["flask", "--app", "wsgi", "db", "upgrade"])
    assert not runs_worker(["flask", "--app", "worker", "routes"])  # a module named worker
    assert not runs_worker(["gunicorn", "wsgi:app", "worker"])
    assert not runs_worker(["/venv/bin/pytest", "worker"])
    assert not runs_worker([])
