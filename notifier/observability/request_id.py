"""`X-Request-ID` on every answer, and on every log line written while serving it.

The client's own id is kept when it is 1 to 128 characters of `A-Z a-z 0-9 - _ .`
(safe in a log line, a header and a metric-free label); anything else, a list
of several ids included, is replaced by a new random one. The id is also put
in the WSGI environ, where gunicorn's access log finds it after the request
(see `gunicorn_logging.py`).
"""

from __future__ import annotations

import re
import uuid

from flask import Flask, Response, request

from notifier.observability.logs import (
    REQUEST_ID_ENVIRON_KEY,
    install_record_factory,
    request_id_var,
)

HEADER = "X-Request-ID"
ENVIRON_KEY = REQUEST_ID_ENVIRON_KEY

_valid = re.compile(r"[A-Za-z0-9._-]{1,128}").fullmatch


def new_request_id() -> str:
    """A fresh id: 32 hex digits, unguessable and unique enough to grep for."""
    return uuid.uuid4().hex


def choose_request_id(sent: str | None) -> str:
    """The client's id when it is valid, else a new one."""
    if sent is not None and _valid(sent):
        return sent
    return new_request_id()


def init_request_id(app: Flask) -> None:
    """Register the hooks. An answer made before our `before_request` hook ran (a 413
    from the body-size check) still gets the id, from `send_request_id`."""
    install_record_factory()

    def assign_request_id() -> None:
        environ = request.environ
        request_id = choose_request_id(environ.get("HTTP_X_REQUEST_ID"))
        environ[ENVIRON_KEY] = request_id
        request_id_var.set(request_id)

    def send_request_id(response: Response) -> Response:
        environ = request.environ
        request_id = environ.get(ENVIRON_KEY)
        if request_id is None:  # a hook before ours answered: choose the id now
            request_id = choose_request_id(environ.get("HTTP_X_REQUEST_ID"))
            environ[ENVIRON_KEY] = request_id
        response.headers[HEADER] = request_id
        return response

    def forget_request_id(error: BaseException | None = None) -> None:
        # Lines logged between requests must not carry the last request's id.
        request_id_var.set(None)

    app.before_request(assign_request_id)
    app.after_request(send_request_id)
    app.teardown_request(forget_request_id)
