"""MkDocs hook: the reference pages are generated from the code at build time.

`reference/http-api.md` renders the app's own OpenAPI document (the one `/openapi.json`
serves), `reference/cli.md` the click commands the app registers, and
`reference/settings.md` is checked against every variable `config.py` reads and
`.env.example` lists: a setting missing from that page is a warning, which
`mkdocs build --strict` turns into a failure. Nothing here touches a database or the
network: the app is built with an in-memory SQLite URL and never connects.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

HOOKS = Path(__file__).resolve().parent
ROOT = HOOKS.parents[1]
for path in (ROOT, HOOKS):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import api_reference  # noqa: E402
import cli_reference  # noqa: E402
import settings_reference  # noqa: E402

log = logging.getLogger("mkdocs.hooks.reference")

MARKERS = {
    "<!-- generated: http-api -->": api_reference.render,
    "<!-- generated: cli -->": cli_reference.render,
}


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Replace a page's generation marker with the generated Markdown."""
    for marker, build in MARKERS.items():
        if marker in markdown:
            markdown = markdown.replace(marker, build())
    if page.file.src_uri == "reference/settings.md":
        for name in settings_reference.undocumented(markdown):
            log.warning("reference/settings.md does not document the setting %s", name)
    return markdown
