"""Channel rules (notifier.channels): the package's constants, its error type, and its imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from notifier import channels
from notifier.channels import (
    CHANNELS,
    EMAIL,
    MAX_PUSH_PAYLOAD_BYTES,
    MAX_SMS_SEGMENTS,
    PUSH,
    SMS,
    ChannelError,
)

# --- constants ---------------------------------------------------------------------------


def test_constants_match_the_documented_rules() -> None:
    assert (EMAIL, SMS, PUSH) == ("email", "sms", "push")
    assert CHANNELS == ("email", "sms", "push")
    assert MAX_SMS_SEGMENTS == 10
    assert MAX_PUSH_PAYLOAD_BYTES == 4096


def test_channel_error_is_a_value_error_naming_its_field() -> None:
    error = ChannelError("content", "Too long.")
    assert isinstance(error, ValueError)
    assert (error.field, error.message, str(error)) == ("content", "Too long.", "Too long.")


@pytest.mark.parametrize(
    "path", sorted(Path(channels.__file__).parent.glob("*.py")), ids=lambda path: path.name
)
def test_package_imports_no_flask_or_sqlalchemy(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    own = {name for name in imported if name.startswith("notifier.channels.")}
    allowed_third_party = {"email_validator", "phonenumbers"}
    stdlib = {"__future__", "functools", "json", "math", "re", "unicodedata"}
    assert imported - own <= allowed_third_party | stdlib
