"""The compose proxy's access log never holds an unsubscribe token: nginx runs the
project's own server block (deploy/nginx/notifier.conf) on a free local port, and the
requests an email client and the unsubscribe page make are read back from its log."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
SECRET = "WzEsImVtYWlsIiwiYUBleGFtcGxlLmNvbSIsZmFsc2Vd.sEcReTsIgNaTuRe"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def proxy() -> Iterator[tuple[str, Path]]:
    """nginx with the server block as shipped, but on 127.0.0.1:<free port>, logging to a
    file here, in front of a closed port (so it answers 503 itself)."""
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if nginx is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is not installed (CI installs it)")
        pytest.skip("needs nginx")
    # Not pytest's tmp_path: nginx's workers run as another user and must reach it.
    workdir = Path(tempfile.mkdtemp(prefix="notifier-nginx-"))
    workdir.chmod(0o755)
    port = _free_port()
    log = workdir / "access.log"
    server = (ROOT / "deploy" / "nginx" / "notifier.conf").read_text()
    assert "    listen 80;\n" in server and "/var/log/nginx/access.log" in server
    server = server.replace("    listen 80;\n", f"    listen 127.0.0.1:{port};\n")
    server = server.replace("/var/log/nginx/access.log", str(log))
    # No compose DNS here: the upstream is a closed local port (nginx then answers 503).
    assert "set $notifier_api http://api:8000;" in server
    server = server.replace("http://api:8000;", f"http://127.0.0.1:{_free_port()};")
    (workdir / "server.conf").write_text(server)
    (workdir / "nginx.conf").write_text(
        f"pid {workdir}/nginx.pid;\nerror_log {workdir}/error.log;\nevents {{}}\nhttp {{\n"
        + "".join(
            f"    {kind}_temp_path {workdir}/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        + f"    include {workdir}/server.conf;\n}}\n"
    )
    process = subprocess.Popen(
        [
            nginx,
            "-e",
            str(workdir / "error.log"),
            "-p",
            str(workdir),
            "-c",
            str(workdir / "nginx.conf"),
            "-g",
            "daemon off;",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(f"{base}/health", timeout=2)
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.stderr.read().decode()
                time.sleep(0.05)
        yield base, log
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def test_the_proxy_logs_unsubscribe_links_without_their_token(proxy) -> None:
    base, log = proxy
    page = f"{base}/unsubscribe/{SECRET}"
    requests.get(f"{page}?from=mail", timeout=10)
    requests.post(page, headers={"Referer": page}, timeout=10)
    requests.get(f"{base}/notifications?page=2", timeout=10)

    lines = log.read_text().splitlines()

    assert SECRET not in "\n".join(lines)
    assert '"GET /unsubscribe/[token]?from=mail HTTP/1.1"' in lines[-3]
    assert '"POST /unsubscribe/[token] HTTP/1.1"' in lines[-2]
    assert f'"{base}/unsubscribe/[token]"' in lines[-2]  # the referer
    assert '"GET /notifications?page=2 HTTP/1.1"' in lines[-1]  # other paths as they are
