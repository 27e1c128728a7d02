"""`GET /metrics`: the token check, the text format, and the worker's own small server.

Under gunicorn, `PROMETHEUS_MULTIPROC_DIR` (set by `gunicorn.conf.py`) makes
every worker write its values to files in that directory, and the API's and the
delivery service's `/metrics` sum them with `MultiProcessCollector`: whichever
worker answers, the counts are the service's. The worker is one process and
exports its registry directly.

prometheus_client's own `start_http_server` has no authentication, so the
worker gets a tiny WSGI server (wsgiref, one daemon thread) that answers exactly
like the apps' `/metrics`.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector

from notifier.observability.metrics import worker_metrics

log = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def token_matches(expected: str, authorization: str | None) -> bool:
    """`Authorization: Bearer <expected>`, compared in constant time."""
    if not expected or not authorization:
        return False
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(credentials.strip().encode(), expected.encode())


def error_body(status: int, message: str) -> bytes:
    """The one error shape, for answers made outside the apps' error handlers."""
    body = {"code": status, "status": HTTPStatus(status).phrase, "message": message}
    return json.dumps(body).encode()


def exposition(registry: CollectorRegistry, multiprocess: bool) -> bytes:
    """The text format: this registry, or the sum of every worker's files."""
    directory = os.environ.get(MULTIPROC_ENV)
    if multiprocess and directory:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)
    return generate_latest(registry)


def metrics_answer(
    expected: str, authorization: str | None, registry: CollectorRegistry, multiprocess: bool
) -> tuple[int, list[tuple[str, str]], bytes]:
    """`(status, headers, body)` of `GET /metrics`: 404 without a configured token,
    401 without the right one, else 200 with the text format."""
    if not expected:
        body = error_body(404, "The requested URL was not found on the server.")
        return 404, [("Content-Type", "application/json")], body
    if not token_matches(expected, authorization):
        body = error_body(401, "A valid metrics token is required (Authorization: Bearer).")
        headers = [("Content-Type", "application/json"), ("WWW-Authenticate", "Bearer")]
        return 401, headers, body
    return 200, [("Content-Type", CONTENT_TYPE_PLAIN_0_0_4)], exposition(registry, multiprocess)


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    """Scrape lines go to the logger at DEBUG, not to stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("metrics scrape: " + format, *args)


def worker_metrics_app(
    token: str, before_scrape: Callable[[], None] | None = None
) -> Callable[..., Iterable[bytes]]:
    """The worker's WSGI app: `GET /metrics` as on the API, a 404 in the error shape elsewhere.
    `before_scrape` refreshes what is measured on demand (the queue gauges)."""
    registry = worker_metrics().registry

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        authorization = environ.get("HTTP_AUTHORIZATION")
        if environ.get("PATH_INFO") != METRICS_PATH or environ["REQUEST_METHOD"] != "GET":
            status, headers = 404, [("Content-Type", "application/json")]
            body = error_body(404, "The requested URL was not found on the server.")
        else:
            if before_scrape is not None and token_matches(token, authorization):
                try:
                    before_scrape()
                except Exception:  # a scrape must still answer; the gauges keep their values
                    log.warning("could not refresh the queue gauges", exc_info=True)
            status, headers, body = metrics_answer(token, authorization, registry, False)
        headers.append(("Content-Length", str(len(body))))
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [body]

    return app


def start_worker_metrics_server(
    port: int,
    token: str,
    host: str = "0.0.0.0",  # noqa: S104 (Prometheus scrapes it from another container)
    before_scrape: Callable[[], None] | None = None,
) -> WSGIServer:
    """Serve the worker's `/metrics` on `host:port` from a daemon thread; return the
    server (its `server_port` is the port chosen when `port` is 0; `shutdown()` stops it)."""
    server = make_server(
        host,
        port,
        worker_metrics_app(token, before_scrape),
        server_class=_Server,
        handler_class=_QuietHandler,
    )
    thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
    thread.start()
    log.info("worker metrics on http://%s:%d%s", host, server.server_port, METRICS_PATH)
    return server
