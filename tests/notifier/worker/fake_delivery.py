"""A stand-in for the delivery service on a real socket (127.0.0.1), for the dispatcher's tests.

Answers are registered by path, like `responses`' (`post(url, status=, json=, body=,
headers=)`): in order, the last one repeating; a request nothing was registered for has its
connection closed without an answer. `calls` records what arrived. Because the requests
cross a real socket, the tests hold whatever HTTP library the client is built on, and a
fault is a fault on the wire:

- `fault="silence"`: the request is read and never answered (the client times out);
- `fault="drop"`: the connection is closed before any answer;
- `fault="truncated"`: the status line and headers, then half the promised body, then close.
"""

from __future__ import annotations

import contextlib
import json as jsonlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

FAULTS = frozenset({"silence", "drop", "truncated"})


@dataclass(frozen=True)
class Request:
    """One request as it arrived: `target` is the request line's (absolute through a proxy)."""

    method: str
    target: str
    headers: Message
    body: bytes
    client_port: int


@dataclass(frozen=True)
class Call:
    request: Request


@dataclass
class Canned:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    callback: Callable[[Request], tuple[int, dict[str, str], str | bytes]] | None = None
    fault: str | None = None


class FakeDelivery:
    """The server; `url` is its base URL. Thread-safe: the client's threads call it at once."""

    def __init__(self) -> None:
        self._answers: dict[str, list[Canned]] = {}
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def post(
        self,
        url: str,
        status: int = 200,
        json: Any = None,
        body: str | bytes | None = None,
        headers: dict[str, str] | None = None,
        content_type: str | None = None,
        fault: str | None = None,
    ) -> None:
        """Answer the next POST to `url`'s path so (only the path is matched)."""
        assert fault is None or fault in FAULTS, fault
        if json is not None:
            body = jsonlib.dumps(json)
            content_type = content_type or "application/json"
        data = body.encode("utf-8") if isinstance(body, str) else (body or b"")
        answer_headers = {"Content-Type": content_type or "text/plain", **(headers or {})}
        self._add(url, Canned(status, answer_headers, data, fault=fault))

    def add_callback(self, method: str, url: str, callback: Callable[..., Any]) -> None:
        """`callback(request) -> (status, headers, body)`, called in the server's thread."""
        assert method == "POST", method
        self._add(url, Canned(callback=callback))

    def reset(self) -> None:
        with self._lock:
            self._answers.clear()
            self.calls.clear()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _add(self, url: str, canned: Canned) -> None:
        with self._lock:
            self._answers.setdefault(urlsplit(url).path, []).append(canned)

    def _take(self, request: Request) -> Canned | None:
        with self._lock:
            self.calls.append(Call(request))
            queue = self._answers.get(urlsplit(request.target).path)
            if not queue:
                return None
            return queue.pop(0) if len(queue) > 1 else queue[0]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeDelivery

    def handle_error(self, request, client_address) -> None:
        """A client that went away mid-answer is what some tests do on purpose."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real service under gunicorn
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: pytest shows what matters."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        request = Request("POST", self.path, self.headers, body, self.client_address[1])
        canned = self.server.fake._take(request)
        if canned is None or canned.fault == "drop":
            self.close_connection = True
            return
        if canned.fault == "silence":
            self.close_connection = True
            self.connection.settimeout(10)
            with contextlib.suppress(OSError):
                self.connection.recv(1)  # returns when the client gives up and closes
            return
        if canned.callback is not None:
            status, headers, data = canned.callback(request)
            data = data.encode("utf-8") if isinstance(data, str) else data
        else:
            status, headers, data = canned.status, canned.headers, canned.body
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if canned.fault == "truncated":
            self.send_header("Content-Length", str(len(data) * 2 + 10))
            self.end_headers()
            self.wfile.write(data)
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
