"""Logging: readable text by default, one JSON object a line with `LOG_FORMAT=json`.

Every record carries the id of what it is about, when there is one: the
`request_id` of the HTTP request being served (set by `request_id.py`) or the
`notification_id` the dispatcher is delivering (`notification_context`). They
live in context variables, read by a log record factory, so that they reach
every handler (ours, gunicorn's, pytest's) whichever logger the line comes from,
in threads and gevent greenlets alike. The factory adds an attribute only when
the id is set: a JSON line outside a request has no `request_id: null`.

Nothing here imports Flask, so gunicorn's master may import this module.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any

from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
notification_id_var: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "notification_id", default=None
)

LOG_FORMATS = ("text", "json")
# Where request_id.py leaves the id for gunicorn's access line (gunicorn_logging.py).
REQUEST_ID_ENVIRON_KEY = "notifier.request_id"
HANDLER_NAME = "notifier"

# Loggers kept quiet whatever LOG_LEVEL says. SQLAlchemy's engine logs every statement's
# parameters at INFO and every row at DEBUG: password hashes, token ids, addresses.
QUIET_LOGGERS = {"sqlalchemy.engine": logging.WARNING}

_base_factory = logging.getLogRecordFactory()


def _record_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    request_id = request_id_var.get()
    if request_id is not None:
        record.request_id = request_id
    notification_id = notification_id_var.get()
    if notification_id is not None:
        record.notification_id = notification_id
    return record


def install_record_factory() -> None:
    """Make every new log record carry the current request or notification id (idempotent)."""
    if logging.getLogRecordFactory() is not _record_factory:
        logging.setLogRecordFactory(_record_factory)


@contextlib.contextmanager
def notification_context(notification_id: int) -> Iterator[None]:
    """Within the block, every log line carries `notification_id` (the worker's threads)."""
    token = notification_id_var.set(notification_id)
    try:
        yield
    finally:
        notification_id_var.reset(token)


class JsonFormatter(_LibraryJsonFormatter):
    """`{"time", "level", "logger", "message", ...}`: the documented fields, then any extras
    (`request_id`, `notification_id`, `exc_info`). `time` is ISO 8601 in UTC with its offset."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", "%(levelname)s %(name)s %(message)s")
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        super().__init__(**kwargs)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["time"] = datetime.fromtimestamp(record.created, tz=UTC).isoformat(
            timespec="milliseconds"
        )
        super().add_fields(log_data, record, message_dict)


class TextFormatter(logging.Formatter):
    """`2026-11-24 10:15:00,123 INFO notifier.worker: message [request_id=…]`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = [
            f"{name}={getattr(record, name)}"
            for name in ("request_id", "notification_id")
            if hasattr(record, name)
        ]
        return f"{line} [{' '.join(context)}]" if context else line


def make_formatter(log_format: str) -> logging.Formatter:
    """The formatter for `LOG_FORMAT` (`text` or `json`)."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, got {log_format!r}")
    return JsonFormatter() if log_format == "json" else TextFormatter()


def configure_logging(
    app: Any | None = None,
    *,
    log_format: str | None = None,
    level: str | None = None,
    stream: IO[str] | None = None,
) -> logging.Handler | None:
    """Set up this process's logging; return the handler added, if one was.

    The record factory is always installed and `QUIET_LOGGERS` are set. A
    handler on the root logger is added only when the root has none (a host such
    as pytest, or a caller that configured logging itself, keeps its own) or
    when `stream` is given; it
    replaces a handler this function added before. Flask's default handler on
    `app.logger` is removed when ours is there, so that app lines are not
    written twice. `LOG_FORMAT` and `LOG_LEVEL` come from `app.config`, else
    from the environment.
    """
    install_record_factory()
    for name, quiet_level in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(quiet_level)
    config = getattr(app, "config", {})
    log_format = log_format or config.get("LOG_FORMAT") or os.environ.get("LOG_FORMAT") or "text"
    level = (level or config.get("LOG_LEVEL") or os.environ.get("LOG_LEVEL") or "INFO").upper()
    formatter = make_formatter(log_format.strip().lower())
    root = logging.getLogger()
    ours = [handler for handler in root.handlers if handler.name == HANDLER_NAME]
    if stream is None and len(ours) < len(root.handlers):
        return None
    for handler in ours:
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.name = HANDLER_NAME
    handler.setFormatter(formatter)
    root.addHandler(handler)
    root.setLevel(level)
    if app is not None:
        from flask.logging import default_handler  # only when a Flask app is given

        app.logger.removeHandler(default_handler)
    return handler
