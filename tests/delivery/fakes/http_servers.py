"""HTTP fakes for the provider tests, on 127.0.0.1.

- :class:`HttpFake`: a werkzeug server whose answer a test sets with ``respond``;
  it keeps every request it got.
- :class:`RawFake`: a TCP server that answers every connection with fixed bytes
  and closes it (not HTTP, or HTTP cut off mid-reply).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, request
from werkzeug.serving import make_server

from tests.helpers import FAST_SHUTDOWN


@dataclass
class Seen:
    """One request an HTTP fake got."""

    path: str
    form: dict[str, str]
    json: Any
    headers: dict[str, str]


Reply = tuple[int, Any, dict[str, str]]


class HttpFake:
    """A werkzeug server on 127.0.0.1 answering every POST with ``respond(seen)``."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.respond: Callable[[Seen], Reply] = lambda seen: (500, {}, {})
        self.release = threading.Event()  # set at stop: frees handlers that hang
        app = Flask("http-fake")

        @app.post("/<path:path>")
        def answer(path: str):
            seen = Seen(
                "/" + path,
                request.form.to_dict(),
                request.get_json(silent=True),
                dict(request.headers),
            )
            self.requests.append(seen)
            status, body, headers = self.respond(seen)
            if body == "HANG":
                self.release.wait(10)
                return "", 504
            return (body, status, headers)

        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs=FAST_SHUTDOWN, daemon=True
        )

    def start(self) -> HttpFake:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class RawFake:
    """Answers every TCP connection with ``reply`` once the request headers arrived, then closes."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.connections = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        # stop() waits until the loop next looks at _stop: let it look often.
        self._sock.settimeout(0.02)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._sock.accept()
            except TimeoutError:
                continue
            with connection:
                self.connections += 1
                connection.settimeout(2)
                data = b""
                try:
                    while b"\r\n\r\n" not in data:
                        chunk = connection.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    connection.sendall(self.reply)
                except OSError:
                    pass

    def start(self) -> RawFake:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()
