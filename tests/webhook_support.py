"""Webhook test support: a real HTTP receiver, the settings fixture's helper, a public URL.

The receiver is a threaded `http.server` on 127.0.0.1 that records every request and
answers as told, over HTTP/1.1 with keep-alive. `plan` holds the next answers in order
(each a `Reply`), then `default` answers. Modes besides a plain answer: `garbage` (not
HTTP), `endless` (a body that never ends), `close` (the connection closed without an
answer), `hang` (no answer until stopped).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.helpers import FAST_SHUTDOWN

# A public address as a literal: accepted without a DNS lookup (tests run offline).
PUBLIC_URL = "https://93.184.215.14/hooks/notifier"


def make_webhook(api: Any, expect: int | None = 201, **fields: Any):
    """POST /webhooks with a public URL unless `fields` say otherwise."""
    return api.post("/webhooks", expect, json={"url": PUBLIC_URL, **fields})


def saved_webhook_settings(config: Any) -> dict[str, Any]:
    """The WEBHOOK_* settings, to restore after a test changed them."""
    return {key: value for key, value in config.items() if key.startswith("WEBHOOK_")}


@dataclass(frozen=True)
class Reply:
    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay_s: float = 0.0
    mode: str = "answer"  # answer, garbage, endless, close, hang


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class Receiver:
    def __init__(self, port: int = 0) -> None:
        self.requests: list[Received] = []
        self.plan: deque[Reply] = deque()
        self.default = Reply()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        # A client that went away (a killed worker, a timeout) is part of the tests.
        self._server.handle_error = lambda request, client_address: None
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs=FAST_SHUTDOWN, daemon=True
        )
        self._thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def received(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    def answer(self, *replies: Reply) -> None:
        with self._lock:
            self.plan.extend(replies)

    def _next(self) -> Reply:
        with self._lock:
            return self.plan.popleft() if self.plan else self.default

    def stop(self) -> None:
        self._stopped.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append(
                        Received(self.path, dict(self.headers.items()), body, time.monotonic())
                    )
                reply = receiver._next()
                if reply.delay_s:
                    receiver._stopped.wait(reply.delay_s)
                if reply.mode == "hang":
                    receiver._stopped.wait(60)
                    self.close_connection = True
                elif reply.mode == "close":
                    self.close_connection = True
                elif reply.mode == "garbage":
                    self.wfile.write(b"\x00\xffthis is not HTTP\r\n\r\n")
                    self.close_connection = True
                elif reply.mode == "endless":
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "text/plain")
                    self.end_headers()
                    chunk = b"x" * 4096
                    while not receiver._stopped.is_set():
                        try:
                            self.wfile.write(chunk)
                        except OSError:
                            break
                    self.close_connection = True
                else:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)

        return Handler
