"""gunicorn workers whose own error answers come in the API's one error shape.

Some requests never reach the app: gunicorn's HTTP parser refuses a request line
over `limit_request_line`, a header over `limit_request_field_size`, a NUL in a
header value, and so on, and answers itself with an HTML page
(`gunicorn.util.write_error`). Both services promise one error shape at every layer,
so these workers override `handle_error`, the public method of gunicorn's
`Worker` that writes those pages: the same status codes gunicorn chooses, the
same warning log line, the same access log line, but the body is
`{"code", "status", "message"}` as JSON, with a new `X-Request-ID` (the client's
own header was not read, or not trusted). The message never echoes bytes the
client sent.

`SyncWorker` is the API's (`gunicorn.conf.py`); the delivery service's gevent
worker is in `notifier.gunicorn_gevent`, so that this module, which the API's
master loads, never imports gevent. Both masters load their worker class before
forking, as gunicorn does for its own `worker_class = "gevent"`; this module
imports only the standard library, gunicorn and `notifier.observability.logs`
(no Flask), so nothing is loaded unpatched that a gevent worker would need patched.
"""

from __future__ import annotations

import json
import ssl
import uuid
from datetime import datetime
from typing import Any

from gunicorn import util
from gunicorn.http import errors
from gunicorn.http.message import DEFAULT_MAX_HEADERFIELD_SIZE, MAX_HEADERS, MAX_REQUEST_LINE
from gunicorn.http.wsgi import Response, default_environ
from gunicorn.workers.sync import SyncWorker as GunicornSyncWorker

from notifier.observability.logs import REQUEST_ID_ENVIRON_KEY

# werkzeug's names (`HTTPException.name`), which the apps put in `status` for the same
# code; spelled out here so that gunicorn's master loads no werkzeug.
STATUS = {
    400: "Bad Request",
    403: "Forbidden",
    414: "Request URI Too Long",
    417: "Expectation Failed",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
}
REQUEST_ID_HEADER = "X-Request-ID"  # notifier.observability.request_id.HEADER
NOT_HTTP = "The request is not valid HTTP: "
INTERNAL = "An internal error occurred; it has been logged."

# Checked in order (a subclass before its base). The classes and codes are those of
# gunicorn's own `Worker.handle_error`; an exception not listed is not the client's fault.
APPLICATION_ERRORS = (errors.InvalidResponseHeader, errors.InvalidResponseHeaderName)
CLIENT_ERRORS = (
    (errors.LimitRequestLine, 414, ""),  # its sentence names the limit: _limit_message
    (errors.LimitRequestHeaders, 431, ""),
    (errors.InvalidRequestLine, 400, NOT_HTTP + "the request line is malformed."),
    (errors.InvalidRequestMethod, 400, NOT_HTTP + "the method is not a valid HTTP method."),
    (errors.InvalidHTTPVersion, 400, NOT_HTTP + "this HTTP version is not supported."),
    (
        errors.InvalidHeaderName,
        400,
        NOT_HTTP + "a header name is malformed or holds a character it may not hold.",
    ),
    (
        errors.InvalidHeader,
        400,
        NOT_HTTP + "a header is malformed, repeated where it may not be, or holds a control "
        "character (such as NUL, CR or LF) in its value.",
    ),
    (
        errors.ObsoleteFolding,
        400,
        NOT_HTTP + "a header value is folded over several lines, which HTTP/1.1 forbids.",
    ),
    (
        errors.InvalidSchemeHeaders,
        400,
        NOT_HTTP + "the headers that name the scheme (such as X-Forwarded-Proto) disagree.",
    ),
    (errors.InvalidProxyLine, 400, NOT_HTTP + "the PROXY protocol line is malformed."),
    (
        (errors.InvalidChunkSize, errors.ChunkMissingTerminator, errors.InvalidChunkExtension),
        400,
        NOT_HTTP + "the chunked body is malformed.",
    ),
    (errors.InvalidH2CPreface, 400, NOT_HTTP + "the HTTP/2 connection preface is malformed."),
    (
        errors.UnsupportedTransferCoding,
        501,
        "This transfer coding is not supported: send the body with Content-Length, "
        "or with Transfer-Encoding: chunked alone.",
    ),
    (errors.ExpectationFailed, 417, "The only Expect value understood is 100-continue."),
    (
        errors.ForbiddenProxyRequest,
        403,
        "Requests through the PROXY protocol are not allowed from this address.",
    ),
    (ssl.SSLError, 403, "The TLS handshake failed."),
    # A setting gunicorn cannot apply (its warning line says which): a 500, as gunicorn answers.
    (errors.ConfigurationProblem, 500, INTERNAL),
)


def client_error(exc: BaseException, cfg: Any) -> tuple[int, str] | None:
    """(status code, sentence) for an error gunicorn blames on the client, else None."""
    if isinstance(exc, APPLICATION_ERRORS):
        return None
    for classes, code, message in CLIENT_ERRORS:
        if isinstance(exc, classes):
            return code, message or _limit_message(code, cfg)
    return None


def _limit_message(code: int, cfg: Any) -> str:
    """The sentence of a 414 or 431, with the limits as gunicorn's parser applies them."""
    if code == 414:
        line = cfg.limit_request_line
        if line == 0:  # "unlimited": only a size gunicorn cannot buffer is refused
            return "The request line (method and URL) is too long."
        line = MAX_REQUEST_LINE if line < 0 or line > MAX_REQUEST_LINE else line
        return f"The request line (method and URL) is too long: at most {line} bytes."
    size = cfg.limit_request_field_size
    size = size if size > 0 else DEFAULT_MAX_HEADERFIELD_SIZE
    fields = cfg.limit_request_fields
    fields = fields if 0 < fields <= MAX_HEADERS else MAX_HEADERS
    return (
        f"A request header is too large, or there are too many: at most {fields} headers "
        f"of at most {size} bytes each."
    )


def error_response(code: int, message: str) -> tuple[bytes, dict[str, str]]:
    """(the whole HTTP/1.1 response, its headers) for an error in the one shape."""
    reason = STATUS[code]
    body = json.dumps(
        {"code": code, "message": message, "status": reason}, separators=(",", ":")
    ).encode()
    body += b"\n"  # as Flask ends its JSON
    headers = {
        "Connection": "close",
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        REQUEST_ID_HEADER: uuid.uuid4().hex,
    }
    head = f"HTTP/1.1 {code} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (head + "\r\n").encode("latin-1") + body, headers


class ErrorShapeWorker:
    """Mixin for a gunicorn `Worker`: `handle_error` answers in the one error shape.

    Put it before gunicorn's worker class in the bases. The status codes and the log
    lines (warning, trace, access) are gunicorn's; the answer is JSON with an
    `X-Request-ID`, an application error (500) included, and the connection is
    closed gracefully by every worker.
    """

    cfg: Any
    log: Any

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        started = datetime.now()
        addr = addr or ("", -1)  # a unix socket has no peer address
        known = client_error(exc, self.cfg)
        if known is not None:
            code, message = known
            self.log.warning("Invalid request from ip=%s: %s", addr[0], exc)
            if req is None and isinstance(exc, errors.InvalidHeader | errors.InvalidHeaderName):
                # The parser attaches the request when it had read one: log it, as gunicorn does.
                req = getattr(exc, "req", None)
        else:
            code, message = 500, INTERNAL
            if hasattr(req, "uri") and hasattr(req, "method"):
                self.log.exception("Error handling request %s %s", req.method, req.uri)
            elif hasattr(req, "uri"):
                self.log.exception("Error handling request %s", req.uri)
            else:
                self.log.exception("Error handling request (no URI read)")
        data, headers = error_response(code, message)
        if req is not None:
            self._log_access(req, client, addr, started, code, headers)
        try:
            util.write_nonblock(client, data)
        except Exception:
            self.log.debug("Failed to send error message.")
        # The refused request may be partly unread (the rest of a 10 KB URL). gunicorn's
        # async workers then close at once, and the kernel answers the unread bytes with a
        # reset that can destroy the answer before the client reads it; its sync worker
        # closes gracefully (FIN, then drain). Do that here for every worker: the
        # connection ends after this answer anyway, and closing twice is harmless.
        util.close_graceful(client)

    def _log_access(
        self,
        req: Any,
        client: Any,
        addr: Any,
        started: datetime,
        code: int,
        headers: dict[str, str],
    ) -> None:
        """gunicorn's access line for the answer, built from its public Response."""
        environ = default_environ(req, client, self.cfg)
        environ["REMOTE_ADDR"] = addr[0]
        environ["REMOTE_PORT"] = str(addr[1])
        environ[REQUEST_ID_ENVIRON_KEY] = headers[REQUEST_ID_HEADER]
        resp = Response(req, client, self.cfg)
        resp.status = f"{code} {STATUS[code]}"
        resp.headers = list(headers.items())
        resp.response_length = resp.sent = int(headers["Content-Length"])
        self.log.access(resp, req, environ, datetime.now() - started)


class SyncWorker(ErrorShapeWorker, GunicornSyncWorker):
    """gunicorn's sync worker (the API's), answering its own errors in the one shape.

    gunicorn swaps any `...SyncWorker` for its threaded worker when `threads` is over 1;
    that worker would answer in HTML again, so the API keeps `threads` at 1.
    """
