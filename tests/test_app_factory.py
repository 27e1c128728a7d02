"""The factory refuses to start without a strong JWT secret outside debug/testing."""

import pytest
from flask import Flask

from config import DevelopmentConfig, ProductionConfig, database_url
from notifier.core import check_secret


def _app(secret: str | None, *, debug: bool = False, testing: bool = False) -> Flask:
    app = Flask("probe")
    app.config["JWT_SECRET_KEY"] = secret
    app.debug = debug
    app.testing = testing
    return app


@pytest.mark.parametrize("secret", [None, "", "short", "x" * 31])
def test_production_refuses_a_missing_or_short_secret(secret):
    with pytest.raises(RuntimeError, match="JWT_SECRET_KEY must be set to at least 32 bytes"):
        check_secret(_app(secret))


def test_production_accepts_a_32_byte_secret():
    check_secret(_app("x" * 32))


def test_debug_and_testing_start_without_a_secret():
    check_secret(_app(None, debug=True))
    check_secret(_app(None, testing=True))


def test_production_config_has_no_default_secret(monkeypatch):
    assert ProductionConfig.JWT_SECRET_KEY == "" or len(ProductionConfig.JWT_SECRET_KEY) >= 32
    assert len(DevelopmentConfig.JWT_SECRET_KEY) >= 32


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("postgres://u@h/db", "postgresql+psycopg2://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg2://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
        (None, None),
    ],
)
def test_database_urls_use_psycopg2_and_accept_heroku_scheme(raw, expected):
    assert database_url(raw) == expected


def test_app_exits_with_one_line_reason_without_secret(tmp_path):
    import subprocess
    import sys

    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(__import__("pathlib").Path(__file__).resolve().parent.parent),
        check=False,
    )
    assert result.returncode != 0
    assert "JWT_SECRET_KEY must be set to at least 32 bytes" in result.stderr
