"""The dispatcher's own app: what `flask --app wsgi worker` runs in.

The same settings, signing-key check, database and logging as the API's app
(`notifier.core`), and the `worker` command, without the API: no blueprints,
OpenAPI document, JWT, rate limiter or console, and none of their modules and
libraries in memory. That is about a quarter of an idle dispatcher's memory
(the figures are in docs/operations/performance.md).

`wsgi.py` builds this app when the process is the `flask` command running
`worker` (`runs_worker`), and the API's app otherwise (gunicorn, other commands,
tests), so the command line stays `flask --app wsgi worker` everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from flask import Flask

from notifier import ratelimit
from notifier.core import new_app
from notifier.extensions import db
from notifier.observability.logs import configure_logging
from notifier.worker.command import worker

# The `flask` group's options that take a value (`flask --app wsgi worker`).
_FLASK_OPTIONS_WITH_VALUE = frozenset({"-A", "--app", "-e", "--env-file"})


def create_worker_app(config_object=None) -> Flask:
    """The dispatcher's app; `config_object` defaults to the environment's."""
    app = new_app(__name__, config_object)
    configure_logging(app)
    db.init_app(app)
    ratelimit.init_app(app)  # the worker purges the login limits' expired windows
    app.cli.add_command(worker)
    return app


def runs_worker(argv: Sequence[str]) -> bool:
    """Whether `argv` is the `flask` command (or `python -m flask`) running `worker`."""
    if not argv:
        return False
    program = Path(argv[0])
    if program.name != "flask" and program.parts[-2:] != ("flask", "__main__.py"):
        return False
    args = iter(argv[1:])
    for arg in args:
        if arg in _FLASK_OPTIONS_WITH_VALUE:
            next(args, None)
        elif not arg.startswith("-"):
            return arg == "worker"  # the first word that is not an option: the command
    return False
