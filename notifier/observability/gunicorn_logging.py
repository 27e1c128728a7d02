"""gunicorn's logger class for our processes: JSON lines with `LOG_FORMAT=json`, the
request id on access lines, and no unsubscribe token in them.

gunicorn formats its own lines (`Booting worker`, the access log) with its own
formatters; `logger_class` is its documented way to change that. The access line
is written after the request is torn down, so its id comes from the WSGI environ
where `request_id.py` left it.
"""

from __future__ import annotations

import os
import re
from typing import Any

from gunicorn.glogging import Logger as _GunicornLogger

from notifier.observability.logs import (
    REQUEST_ID_ENVIRON_KEY,
    install_record_factory,
    make_formatter,
    request_id_var,
)

# A one-click unsubscribe link is a bearer capability: its token never reaches a log line
# (the request line, the path, or the referer of the page's own form).
_UNSUBSCRIBE_TOKEN = re.compile(r"(/unsubscribe/)[^\s?#\"]+")
REDACTED = r"\1[token]"


class Logger(_GunicornLogger):
    """gunicorn's logger, formatting with ours when `LOG_FORMAT=json`."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        install_record_factory()
        if (os.environ.get("LOG_FORMAT") or "text").strip().lower() != "json":
            return
        formatter = make_formatter("json")
        for logger in (self.error_log, self.access_log):
            for handler in logger.handlers:
                handler.setFormatter(formatter)

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        token = request_id_var.set(environ.get(REQUEST_ID_ENVIRON_KEY))
        try:
            super().access(resp, req, environ, request_time)
        finally:
            request_id_var.reset(token)

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict:
        found = super().atoms(resp, req, environ, request_time)
        return {
            key: _UNSUBSCRIBE_TOKEN.sub(REDACTED, value) if isinstance(value, str) else value
            for key, value in found.items()
        }
