"""Servers for the Python client's tests, all real and on 127.0.0.1.

- `live_url`: the API itself (the session's app, on the test database) under werkzeug in a
  thread, so the client talks HTTP to the real routes.
- `scripted`: a tiny HTTP server that records every request and answers from a script,
  for request building and retries (and for routes that are not in this app yet).
- `flaky_proxy`: forwards to the live API but spoils chosen answers (a 503 instead of the
  real answer, or a dropped connection), as a load balancer in trouble would.
- the webhook fixtures of the end-to-end webhook tests (a receiver and a sender).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from tests.helpers import FAST_SHUTDOWN
from tests.integration.webhooks.conftest import (  # noqa: F401 (fixtures used here)
    local_webhooks,
    make_sender,
    receiver,
    webhook_settings,
)


@pytest.fixture
def live_url(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs=FAST_SHUTDOWN, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(5)


@dataclass(frozen=True)
class Seen:
    method: str
    path: str  # with the query string
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: Any = None  # JSON-encoded unless bytes
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering


class _Server:
    """A ThreadingHTTPServer on 127.0.0.1 whose handler calls `self.handle(seen)`."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(
                    self.command, self.path, dict(self.headers.items()), self.rfile.read(length)
                )
                with owner._lock:
                    owner.seen.append(seen)
                answer = owner.handle(seen)
                if answer.drop:
                    self.close_connection = True
                    return
                body = answer.body if isinstance(answer.body, bytes) else b""
                if answer.body is not None and not isinstance(answer.body, bytes):
                    body = json.dumps(answer.body).encode()
                self.send_response(answer.status)
                headers = {"Content-Type": "application/json", **answer.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs=FAST_SHUTDOWN, daemon=True
        )
        self._thread.start()

    def handle(self, seen: Seen) -> Answer:
        raise NotImplementedError

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class ScriptedServer(_Server):
    """Answers from `script` in order, then `default`."""

    def __init__(self) -> None:
        super().__init__()
        self.script: deque[Answer] = deque()
        self.default = Answer(200, {})

    def answer(self, *answers: Answer) -> None:
        self.script.extend(answers)

    def handle(self, seen: Seen) -> Answer:
        with self._lock:
            return self.script.popleft() if self.script else self.default


class FlakyProxy(_Server):
    """Forwards every request to `upstream`; `spoil` holds what to do with the next
    answers: "503" (forwarded, then answered 503 instead), "drop" (forwarded, then the
    connection closed), "refuse" (503 without forwarding)."""

    def __init__(self, upstream: str) -> None:
        super().__init__()
        self.upstream = upstream
        self.spoil: deque[str] = deque()
        self.forwarded = 0

    def handle(self, seen: Seen) -> Answer:
        with self._lock:
            spoil = self.spoil.popleft() if self.spoil else ""
        unavailable = Answer(
            503,
            {"code": 503, "status": "Service Unavailable", "message": "Try again."},
            {"Retry-After": "0"},
        )
        if spoil == "refuse":
            return unavailable
        headers = {
            k: v for k, v in seen.headers.items() if k.lower() not in {"host", "content-length"}
        }
        real = requests.request(
            seen.method, self.upstream + seen.path, headers=headers, data=seen.body, timeout=30
        )
        with self._lock:
            self.forwarded += 1
        if spoil == "503":
            return unavailable
        if spoil == "drop":
            return Answer(drop=True)
        keep = {k: v for k, v in real.headers.items() if k.lower() in {"x-pagination", "location"}}
        return Answer(real.status_code, real.content, keep)


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    yield server
    server.stop()


@pytest.fixture
def flaky_proxy(live_url) -> Iterator[FlakyProxy]:
    server = FlakyProxy(live_url)
    yield server
    server.stop()
