"""Structure: the delivery service imports nothing from ``notifier`` except ``notifier.channels``
and ``notifier.observability`` (metrics and logs, which import no app state).

``delivery`` stands in for external providers; sharing the Notification API's
models, config or services would hide coupling that a real provider cannot have.
Only the pure channel rules are shared, so both sides agree on them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DELIVERY_DIR = Path(__file__).resolve().parents[2] / "delivery"
ALLOWED = "notifier.channels"
OBSERVABILITY = "notifier.observability"


def _allowed(name: str) -> bool:
    return name in (ALLOWED, OBSERVABILITY) or name.startswith(OBSERVABILITY + ".")


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
def test_delivery_imports_only_channels_from_notifier(path: Path) -> None:
    offending = [name for name in _notifier_imports(path) if not _allowed(name.split(" ")[0])]
    assert offending == [], f"{path.name} imports from notifier beyond {ALLOWED}: {offending}"


def test_observability_imports_nothing_else_from_notifier() -> None:
    """What delivery may import must not bring the API's state with it."""
    package = DELIVERY_DIR.parent / "notifier" / "observability"
    offending = [
        f"{path.name}: {name}"
        for path in sorted(package.glob("*.py"))
        for name in _notifier_imports(path)
        if not name.startswith(OBSERVABILITY + ".")
    ]
    assert offending == []


def test_the_checker_catches_other_notifier_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import notifier\n"
        "import notifier.app\n"
        "from notifier.extensions import db\n"
        "from notifier import config, channels\n"
        "from notifier.channels import sms_segments\n"
        "import notifier.channels as ch\n",
        encoding="utf-8",
    )
    bad = [
        name.split(" ")[0] for name in _notifier_imports(sample) if not _allowed(name.split(" ")[0])
    ]
    assert bad == ["notifier", "notifier.app", "notifier.extensions", "notifier.config"]
