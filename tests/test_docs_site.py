"""The documentation: it cannot drift from the code, and it points nowhere outside itself.

`./up_test.sh` builds the site with `mkdocs build --strict`; these tests check what that
build relies on: that it fails on a broken link and on an undocumented setting, that the
README is a front page whose links resolve, and that no file refers to a document outside
the repository.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "hooks"))

import settings_reference  # noqa: E402

SKIPPED_DIRS = {".git", ".venv", "venv", "instance", "site", "node_modules", "__pycache__"}
# Spelled in pieces so that this file does not match itself.
OUTSIDE = [
    re.compile(re.escape("../" + "shared")),
    re.compile(re.escape("API" + ".md")),
    re.compile("the " + "contract", re.IGNORECASE),
]


def _repository_text_files():
    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT)
        if any(part in SKIPPED_DIRS for part in relative.parts) or not path.is_file():
            continue
        if relative.parts[:2] == ("bench", "results"):
            continue
        try:
            yield relative, path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary files


def test_no_file_points_to_a_document_outside_the_repository():
    found = [
        f"{relative}:{text.count(chr(10), 0, match.start()) + 1}: {match.group(0)}"
        for relative, text in _repository_text_files()
        for pattern in OUTSIDE
        for match in pattern.finditer(text)
    ]
    assert found == []


def test_every_setting_the_code_reads_is_on_the_settings_page():
    page = (ROOT / "docs" / "reference" / "settings.md").read_text()
    assert {"JWT_SECRET_KEY", "WEBHOOK_ALLOW_HTTP", "SMTP_HOST"} <= settings_reference.settings()
    assert settings_reference.undocumented(page) == []


def test_the_readme_is_a_front_page_whose_links_all_resolve():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 120
    assert "./up_dev.sh" in readme and "./up_test.sh" in readme and "mkdocs serve" in readme
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    local = [target for target in targets if not target.startswith(("http://", "https://"))]
    assert "docs/getting-started.md" in local
    assert [target for target in local if not (ROOT / target).exists()] == []


def test_the_strict_build_fails_on_a_broken_link_and_on_an_undocumented_setting(tmp_path):
    """A scratch copy of the site with one broken link and one setting dropped."""
    shutil.copy2(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(ROOT / "docs", tmp_path / "docs", ignore=shutil.ignore_patterns("hooks"))
    (tmp_path / "docs" / "hooks").symlink_to(ROOT / "docs" / "hooks")
    guide = tmp_path / "docs" / "guides" / "webhooks.md"
    guide.write_text(guide.read_text() + "\nSee [the old page](no-such-page.md).\n")
    settings = tmp_path / "docs" / "reference" / "settings.md"
    settings.write_text(settings.read_text().replace("`WEBHOOK_RETENTION_DAYS`", "retention"))

    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(tmp_path / "mkdocs.yml")],
        cwd=ROOT,  # snippets (CHANGELOG.md, LICENSE) are read from the repository
        env={"PATH": "/usr/bin:/bin", "NO_MKDOCS_2_WARNING": "1", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode != 0
    assert "contains a link 'no-such-page.md'" in result.stderr
    assert "does not document the setting WEBHOOK_RETENTION_DAYS" in result.stderr


def test_the_http_reference_renders_every_operation_with_who_may_call_it(client):
    import api_reference

    page = api_reference.render()
    spec = client.get("/openapi.json").get_json()
    for path, item in spec["paths"].items():
        for method in set(item) & set(api_reference.METHODS):
            assert f"### `{method.upper()} {path}`" in page
    get_one = page.split("### `GET /notifications/{notification_id}`")[1].split("\n### ")[0]
    assert "an API key with the `notifications:read` scope" in get_one
    assert "| 404 | No such resource among yours. |" in get_one
    assert (
        "| `target` | string | yes | 1 to 4096 characters; one line, not blank, no control" in page
    )
    # Every pattern of the document is said in words, not printed as a regular expression.
    assert "matches `^" not in page


def test_the_cli_reference_documents_every_command_and_option(app):
    import cli_reference

    page = cli_reference.render()
    assert "### `api-keys create`" in page
    for option in ("--email", "--name", "--scope", "--test", "--once", "--concurrency"):
        assert f"`{option}`" in page
    assert "## `seed`" in page and "## `worker`" in page and "## `db`" in page
