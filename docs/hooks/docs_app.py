"""The Notification API built for the documentation: the real factory and routes,
an in-memory SQLite URL that is never connected to, and no metrics token."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parents[2]


@cache
def app() -> Flask:
    # At call time: MkDocs restores sys.path after loading a hook.
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from config import TestConfig
    from notifier.app import create_app

    class DocsConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = "sqlite://"
        SQLALCHEMY_ENGINE_OPTIONS: dict = {}
        METRICS_TOKEN = ""

    return create_app(DocsConfig)


@cache
def openapi() -> dict:
    """The document `/openapi.json` serves."""
    return app().test_client().get("/openapi.json").get_json()
