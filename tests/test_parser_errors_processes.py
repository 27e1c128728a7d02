"""Requests gunicorn's parser refuses get the one error shape, from both real services.

The API (gunicorn.conf.py, sync worker) and the delivery service
(delivery/gunicorn.conf.py, gevent worker) run under gunicorn on free loopback ports;
raw sockets send what an HTTP library would refuse to send (a NUL in a header).
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.processes import ProcessError, Processes, free_port
from tests.delivery_support import DELIVERY_TOKEN_ENV
from tests.live_server import running_api

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def api(tmp_path_factory) -> Iterator[tuple[int, Path]]:
    """(port, log) of the API under gunicorn.conf.py, with the access log on."""
    workdir = tmp_path_factory.mktemp("api")
    with running_api(workdir, GUNICORN_ACCESSLOG="-") as url:
        yield int(url.rsplit(":", 1)[1]), workdir / "gunicorn.log"


@pytest.fixture(scope="module")
def delivery(tmp_path_factory) -> Iterator[tuple[int, Path]]:
    """(port, log) of the delivery service under delivery/gunicorn.conf.py."""
    port = free_port()
    log = tmp_path_factory.mktemp("delivery") / "gunicorn.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DELIVERY_")}
    environment |= {
        "DELIVERY_BIND": f"127.0.0.1:{port}",
        "DELIVERY_ACCESS_LOG": "-",
        **DELIVERY_TOKEN_ENV,
    }
    with Processes() as processes:
        process = processes.start(
            [sys.executable, "-m", "gunicorn", "-c", "delivery/gunicorn.conf.py"],
            environment,
            name="delivery gunicorn",
            log_path=log,
            cwd=ROOT,
        )
        try:
            process.wait_until_answers(f"http://127.0.0.1:{port}/health", timeout_s=60)
        except ProcessError as error:
            pytest.fail(str(error))
        yield port, log


@pytest.fixture(params=["api", "delivery"])
def service(request) -> tuple[int, Path]:
    return request.getfixturevalue(request.param)


def exchange(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read until the server closes: (status, headers, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value for name, value in (line.split(": ", 1) for line in lines)}
    return int(status_line.split()[1]), headers, body


def assert_shape(code: int, headers: dict[str, str], body: bytes, expected: int) -> dict:
    assert code == expected
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    assert int(headers["content-length"]) == len(body)
    payload = json.loads(body)
    assert set(payload) == {"code", "status", "message"}
    assert payload["code"] == expected
    return payload


def test_a_10_kb_url_is_a_414_in_the_shape(service) -> None:
    port, _ = service
    token = b"t" * 10_240
    answer = exchange(port, b"POST /unsubscribe/" + token + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    payload = assert_shape(*answer, 414)
    assert payload["status"] == "Request URI Too Long"
    assert payload["message"] == (
        "The request line (method and URL) is too long: at most 4094 bytes."
    )
    assert b"tttt" not in answer[2]


def test_a_9000_character_query_string_is_a_414_in_the_shape(service) -> None:
    port, _ = service
    request = b"GET /health?q=" + b"q" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    assert_shape(*exchange(port, request), 414)


def test_a_20_kib_header_is_a_431_in_the_shape(service) -> None:
    port, _ = service
    request = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20_480 + b"\r\n\r\n"
    payload = assert_shape(*exchange(port, request), 431)
    assert payload["status"] == "Request Header Fields Too Large"
    assert "A request header is too large" in payload["message"]


def test_a_nul_in_a_header_is_a_400_in_the_shape(service) -> None:
    port, _ = service
    request = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Note: a\x00b\r\n\r\n"
    payload = assert_shape(*exchange(port, request), 400)
    assert payload["message"].startswith("The request is not valid HTTP: ")
    assert "\x00" not in payload["message"]


def test_a_refused_request_keeps_its_warning_and_access_lines(service) -> None:
    """Two Content-Length headers: the parser had read the request line, so it is logged."""
    port, log = service
    request = b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx"
    code, headers, body = exchange(port, request)
    assert_shape(code, headers, body, 400)
    lines = log.read_text().splitlines()
    assert any("Invalid request from ip=127.0.0.1" in line for line in lines)
    assert any(f'"POST /health HTTP/1.1" 400 {len(body)}' in line for line in lines)


def test_a_normal_request_still_works(service) -> None:
    port, _ = service
    request = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    code, headers, body = exchange(port, request)
    assert code == 200
    assert json.loads(body) == {"status": "ok"}
    assert headers["x-request-id"]
