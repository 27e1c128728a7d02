"""Structure: from ``notifier``, the delivery service imports channel rules, web plumbing and
``notifier.observability`` (metrics and logs, which import no app state) only.

``delivery`` stands in for external providers; sharing the Notification API's
models, config or services would hide coupling that a real provider cannot have.
Only the pure channel rules (``notifier.channels``) are shared, so both sides
agree on them, and the web plumbing (``notifier.web``: error shape, body limit,
JSON parser, text fields), so both answer the same way. Neither loads an app or
a database.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.delivery_support import DELIVERY_TOKEN_ENV

ROOT = Path(__file__).resolve().parents[2]
DELIVERY_DIR = ROOT / "delivery"
ALLOWED = {"notifier.channels", "notifier.web"}
OBSERVABILITY = "notifier.observability"
CHANNELS = "notifier.channels"
# What those may load in turn: the package (its create_app is lazy) and pagination.
LOADED = {"notifier", "notifier.channels", "notifier.web", "notifier.pagination"}


def _allowed(name: str) -> bool:
    return (
        name in ALLOWED
        or name == OBSERVABILITY
        or name.startswith((OBSERVABILITY + ".", CHANNELS + "."))
    )


def _notifier_imports(path: Path) -> list[str]:
    """Every module path under ``notifier`` that the file imports, with its line number."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from notifier import channels` imports notifier.channels
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            if node.module != "notifier":
                names = [node.module]
        else:
            continue
        found += [
            f"{name} (line {node.lineno})" for name in names if name.split(".")[0] == "notifier"
        ]
    return found


def _python_files() -> list[Path]:
    return sorted(DELIVERY_DIR.rglob("*.py"))


def test_delivery_package_is_found() -> None:
    names = {path.name for path in _python_files()}
    assert {"__init__.py", "routes.py", "rules.py", "simulator.py", "idempotency.py"} <= names


@pytest.mark.parametrize("path", _python_files(), ids=lambda path: path.name)
def test_delivery_imports_only_channels_and_web_from_notifier(path: Path) -> None:
    offending = [name for name in _notifier_imports(path) if not _allowed(name.split(" ")[0])]
    assert offending == [], f"{path.name} imports from notifier beyond {ALLOWED}: {offending}"


def test_observability_imports_nothing_else_from_notifier() -> None:
    """What delivery may import must not bring the API's state with it."""
    package = ROOT / "notifier" / "observability"
    offending = [
        f"{path.name}: {name}"
        for path in sorted(package.glob("*.py"))
        for name in _notifier_imports(path)
        if not name.startswith(OBSERVABILITY + ".")
    ]
    assert offending == []


def test_the_delivery_app_loads_no_other_notifier_module() -> None:
    """In a fresh interpreter: what the allowed modules import in turn counts too."""
    probe = (
        "import sys, delivery\n"
        "delivery.create_app()\n"
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] == 'notifier')))\n"
        "print('flask_sqlalchemy' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**os.environ, **DELIVERY_TOKEN_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    modules, database = result.stdout.split("\n")[:2]
    assert {name for name in modules.split() if not _allowed(name)} == LOADED - ALLOWED
    assert database == "False"


def test_the_checker_catches_other_notifier_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import notifier\n"
        "import notifier.app\n"
        "from notifier.extensions import db\n"
        "from notifier import config, channels\n"
        "from notifier.channels import sms_segments\n"
        "from notifier.web import Text\n"
        "from notifier import web\n"
        "import notifier.channels as ch\n",
        encoding="utf-8",
    )
    bad = [
        name.split(" ")[0] for name in _notifier_imports(sample) if not _allowed(name.split(" ")[0])
    ]
    assert bad == ["notifier", "notifier.app", "notifier.extensions", "notifier.config"]
