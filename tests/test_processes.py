"""The process helper shared by bench/ and the tests: start, wait for a URL, stop by PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from bench.processes import ProcessError, Processes, free_port, start

# A tiny HTTP server: answers GET / with $GREETING, prints "serving" once it listens.
TINY_SERVER = """
import http.server, os, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = os.environ["GREETING"].encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
print("serving", flush=True)
server.serve_forever()
"""

# Ignores SIGTERM, as a stuck server would.
STUBBORN = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ignoring SIGTERM", flush=True)
time.sleep(120)
"""

# Forks a child that ignores SIGTERM (a gunicorn worker left behind), prints its PID and
# dies on SIGTERM itself without waiting for it.
PARENT_WITH_CHILD = f"""
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", {STUBBORN!r}])
print(child.pid, flush=True)
time.sleep(120)
"""


def gone(pid: int) -> bool:
    """True when pid no longer runs (absent, or a zombie waiting for its reaper)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2] == "Z"


def wait_until(condition, timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_free_port_can_be_bound_on_loopback() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_a_started_server_answers_with_its_env_and_is_gone_after_stop(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "GREETING": "hello from the helper"}
    server = start(
        [sys.executable, "-c", TINY_SERVER, str(port)],
        env,
        name="tiny",
        log_path=tmp_path / "tiny.log",
    )
    try:
        server.wait_until_answers(f"http://127.0.0.1:{port}/", timeout_s=30)
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).text == "hello from the helper"
        assert "serving" in server.log_tail()
    finally:
        code = server.stop()
    assert code == -signal.SIGTERM
    assert gone(server.pid)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/", timeout=5)


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace(tmp_path: Path) -> None:
    stubborn = start([sys.executable, "-c", STUBBORN], log_path=tmp_path / "stubborn.log")
    assert wait_until(lambda: "ignoring SIGTERM" in stubborn.log_tail())
    assert stubborn.stop(grace_s=0.5) == -signal.SIGKILL
    assert gone(stubborn.pid)


def test_stop_takes_the_process_group_down_with_its_leader(tmp_path: Path) -> None:
    parent = start([sys.executable, "-c", PARENT_WITH_CHILD], log_path=tmp_path / "parent.log")
    # The child shares the log and prints a line of its own: the PID is the first line.
    assert wait_until(lambda: parent.log_tail().split("\n", 1)[0].strip().isdigit())
    child = int(parent.log_tail().split("\n", 1)[0])
    assert not gone(child)
    parent.stop(grace_s=5)
    assert wait_until(lambda: gone(child)), f"child {child} outlived its stopped parent"


def test_a_process_that_dies_early_fails_the_wait_with_its_log(tmp_path: Path) -> None:
    crashing = start(
        [sys.executable, "-c", "print('config error: no DATABASE_URL'); raise SystemExit(3)"],
        name="crashing",
        log_path=tmp_path / "crashing.log",
    )
    with pytest.raises(ProcessError) as error:
        crashing.wait_until_answers(f"http://127.0.0.1:{free_port()}/", timeout_s=30)
    assert "crashing" in str(error.value)
    assert "exited with 3" in str(error.value)
    assert "config error: no DATABASE_URL" in str(error.value)


def test_a_process_that_never_answers_fails_the_wait_with_its_log(tmp_path: Path) -> None:
    silent = start(
        [sys.executable, "-c", "print('still starting', flush=True); import time; time.sleep(60)"],
        name="silent",
        log_path=tmp_path / "silent.log",
    )
    try:
        assert wait_until(lambda: "still starting" in silent.log_tail())
        url = f"http://127.0.0.1:{free_port()}/health"
        with pytest.raises(ProcessError) as error:
            silent.wait_until_answers(url, timeout_s=0.5)
        assert url in str(error.value)
        assert "still starting" in str(error.value)
    finally:
        silent.stop()


def test_stop_all_stops_what_it_started_and_nothing_else() -> None:
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with Processes() as processes:
            mine = [
                processes.start([sys.executable, "-c", "import time; time.sleep(60)"])
                for _ in range(2)
            ]
        assert all(gone(p.pid) for p in mine)
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_stopping_a_process_that_already_exited_signals_nothing() -> None:
    done = start([sys.executable, "-c", "raise SystemExit(7)"])
    done.popen.wait()
    # Reaped: its PID may belong to anyone now; stop() only reports the exit status.
    assert done.stop() == 7
