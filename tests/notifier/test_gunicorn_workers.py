"""The gunicorn workers answer their own errors with gunicorn's status codes, in the one shape.

Each case raises one of gunicorn's parser exceptions into `handle_error` of a real
worker writing to a real socket pair, once through gunicorn's own method (HTML) and
once through ours: the status codes must agree, so that a new gunicorn that changes
its mapping fails here rather than in production.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger
from gunicorn.http import errors
from gunicorn.workers.sync import SyncWorker as GunicornSyncWorker
from werkzeug.http import HTTP_STATUS_CODES

from notifier.gunicorn_workers import REQUEST_ID_HEADER, STATUS, SyncWorker
from notifier.observability.request_id import HEADER

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-client-bytes"

# One instance of every exception gunicorn's handle_error knows, each carrying bytes
# "from the client" that the answer must not repeat.
EXCEPTIONS = [
    errors.InvalidRequestLine(SECRET),
    errors.InvalidRequestMethod(SECRET),
    errors.InvalidHTTPVersion(SECRET),
    errors.InvalidHeader(SECRET),
    errors.InvalidHeaderName(SECRET),
    errors.LimitRequestLine(10_240, 4094),
    errors.LimitRequestHeaders("limit request headers fields size"),
    errors.InvalidProxyLine(SECRET),
    errors.ForbiddenProxyRequest(SECRET),
    errors.InvalidSchemeHeaders(),
    errors.UnsupportedTransferCoding(SECRET),
    errors.ConfigurationProblem(SECRET),
    errors.ObsoleteFolding(SECRET),
    errors.ExpectationFailed(SECRET),
    errors.InvalidH2CPreface(SECRET.encode()),
    ssl.SSLError(1, SECRET),
    errors.InvalidChunkSize(SECRET),
    errors.ChunkMissingTerminator(SECRET),
    errors.InvalidChunkExtension(SECRET),
    errors.InvalidResponseHeader(SECRET),
    errors.InvalidResponseHeaderName(SECRET),
    errors.InvalidProxyHeader(SECRET),
    RuntimeError(SECRET),
]


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "gunicorn.log"


@pytest.fixture
def worker(log_path: Path) -> SyncWorker:
    """The API's worker as gunicorn.conf.py sets it up, logging to a file."""
    cfg = Config()
    cfg.set("limit_request_field_size", 16_384)
    cfg.set("errorlog", str(log_path))
    return SyncWorker(0, 0, [], None, 30, cfg, Logger(cfg))


def _answer(handle_error, worker, exc: BaseException) -> tuple[int, dict[str, str], bytes]:
    """What handle_error writes for exc: (status code, headers, body)."""
    ours, theirs = socket.socketpair()
    with theirs:
        theirs.shutdown(socket.SHUT_WR)  # the client has sent all it will send
        try:
            raise exc  # gunicorn calls handle_error while handling it: the log has its trace
        except BaseException as raised:
            handle_error(worker, None, ours, ("127.0.0.1", 5000), raised)
        ours.close()
        raw = b""
        while chunk := theirs.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize("exc", EXCEPTIONS, ids=lambda exc: type(exc).__name__)
def test_an_error_keeps_gunicorns_status_and_comes_in_the_one_shape(worker, exc) -> None:
    expected, _, html = _answer(GunicornSyncWorker.handle_error, worker, exc)
    code, headers, body = _answer(SyncWorker.handle_error, worker, exc)
    assert html.startswith(b"<html>")
    assert code == expected
    assert headers["Content-Type"] == "application/json"
    assert headers["Connection"] == "close"
    assert int(headers["Content-Length"]) == len(body)
    assert len(headers[REQUEST_ID_HEADER]) == 32
    payload = json.loads(body)
    assert set(payload) == {"code", "status", "message"}
    assert payload["code"] == code
    assert payload["status"] == HTTP_STATUS_CODES[code]
    assert payload["message"].endswith(".")
    assert SECRET not in body.decode()


def test_the_limits_are_named_as_the_worker_applies_them(worker) -> None:
    _, _, line = _answer(SyncWorker.handle_error, worker, errors.LimitRequestLine(9000, 4094))
    _, _, header = _answer(
        SyncWorker.handle_error, worker, errors.LimitRequestHeaders("max buffer headers")
    )
    assert json.loads(line)["message"] == (
        "The request line (method and URL) is too long: at most 4094 bytes."
    )
    assert "at most 100 headers of at most 16384 bytes each" in json.loads(header)["message"]


def test_an_application_error_is_logged_with_its_trace(worker, log_path) -> None:
    code, _, body = _answer(SyncWorker.handle_error, worker, RuntimeError("boom"))
    assert code == 500
    assert json.loads(body)["message"] == "An internal error occurred; it has been logged."
    log = log_path.read_text()
    assert "Error handling request (no URI read)" in log
    assert "RuntimeError: boom" in log


def test_a_client_error_keeps_gunicorns_warning_line(worker, log_path) -> None:
    _answer(SyncWorker.handle_error, worker, errors.LimitRequestLine(9000, 4094))
    assert "Invalid request from ip=127.0.0.1: Request Line is too large (9000 > 4094)" in (
        log_path.read_text()
    )


def test_the_names_and_header_are_the_apps() -> None:
    """`status` as werkzeug names the code (what smorest answers), the request id header
    as the API's: spelled out in the module so that gunicorn's master loads neither."""
    assert {code: HTTP_STATUS_CODES[code] for code in STATUS} == STATUS
    assert REQUEST_ID_HEADER == HEADER


def _loaded_by(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return {name.split(".")[0] for name in result.stdout.split()}


def test_the_apis_worker_never_imports_gevent() -> None:
    loaded = _loaded_by("notifier.gunicorn_workers")
    assert "gunicorn" in loaded
    assert "gevent" not in loaded


def test_the_gevent_worker_loads_no_app_before_gevent_patches() -> None:
    """gunicorn's master imports the worker class before it forks; the worker patches later."""
    loaded = _loaded_by("notifier.gunicorn_gevent")
    assert "gevent" in loaded
    assert not loaded & {"flask", "werkzeug", "sqlalchemy", "requests", "urllib3", "redis"}
