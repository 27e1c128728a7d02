"""gunicorn's logger class for our processes: JSON lines with `LOG_FORMAT=json`, and
the request id on access lines.

gunicorn formats its own lines (`Booting worker`, the access log) with its own
formatters; `logger_class` is its documented way to change that. The access line
is written after the request is torn down, so its id comes from the WSGI environ
where `request_id.py` left it.
"""

from __future__ import annotations

import os
from typing import Any

from gunicorn.glogging import Logger as _GunicornLogger

from notifier.observability.logs import (
    REQUEST_ID_ENVIRON_KEY,
    install_record_factory,
    make_formatter,
    request_id_var,
)


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
