"""Which settings exist, so that `reference/settings.md` cannot silently miss one.

A setting is every variable that `.env.example` lists (set or commented out) and every
variable `config.py`, the two gunicorn configurations and the logging setup read from
the environment. The hook warns about each one the page does not name in backticks;
`mkdocs build --strict` fails on the warning, and `tests/test_docs_site.py` checks the
same list without building the site.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READERS = (
    "config.py",
    "gunicorn.conf.py",
    "delivery/gunicorn.conf.py",
    "notifier/observability/logs.py",
    "notifier/observability/multiproc.py",
)
# environ.get("X"), environ["X"], getenv("X"), _env_int("X", ...), _env_bool("X") ...
_READ = re.compile(
    r"""(?:environ\.get|environ\[|getenv|_env_[a-z]+)\(?\s*["']([A-Z][A-Z0-9_]+)["']"""
)
_LISTED = re.compile(r"^#?\s*([A-Z][A-Z0-9_]+)=", re.MULTILINE)


def settings() -> set[str]:
    names = set(_LISTED.findall((ROOT / ".env.example").read_text()))
    for reader in READERS:
        path = ROOT / reader
        if path.exists():
            names |= set(_READ.findall(path.read_text()))
    return names


def undocumented(page: str) -> list[str]:
    """The settings `page` does not name as `NAME` (in backticks, in a table or a sentence)."""
    named = set(re.findall(r"`([A-Z][A-Z0-9_]+)", page))
    return sorted(settings() - named)
