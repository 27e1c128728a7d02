"""Slow uploads against the API: straight to gunicorn, and through the compose proxy's nginx.

    .venv/bin/python bench/slow_clients.py                  # 12 clients, 30 s per side
    .venv/bin/python bench/slow_clients.py --clients 24 --duration 20

``--clients`` connections each send ``POST /users`` with a chunked body, one byte every
``--interval`` seconds, for ``--duration`` seconds. Meanwhile ``GET /health`` is asked
every half second (timeout 25 s); the table shows how many of those probes answered and
the slowest. The API runs under gunicorn with the repository's ``gunicorn.conf.py``
(``WEB_CONCURRENCY=2``, as compose runs it) on a SQLite file; nginx runs
``deploy/nginx/notifier.conf`` with its upstream pointed at that gunicorn. Needs nginx on
PATH (``apt-get install nginx``). Everything listens on 127.0.0.1 and every process
started here is stopped by its PID.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import socket
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.processes import Processes, free_port  # noqa: E402

NGINX_SITE = REPO_ROOT / "deploy" / "nginx" / "notifier.conf"
HEAD = (
    b"POST /users HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)


def nginx_config(work: Path, listen: int, upstream: int) -> Path:
    """The compose proxy's site, pointed at 127.0.0.1 (no Docker DNS), in a main file."""
    site = NGINX_SITE.read_text()
    site = site.replace("listen 80;", f"listen 127.0.0.1:{listen};")
    site = site.replace("http://api:8000", f"http://127.0.0.1:{upstream}")
    site = "\n".join(line for line in site.splitlines() if "resolver " not in line)
    (work / "site.conf").write_text(site)
    main = work / "nginx.conf"
    main.write_text(
        f"pid {work}/nginx.pid;\nerror_log {work}/error.log;\nevents {{}}\nhttp {{\n"
        f"    access_log off;\n    client_body_temp_path {work}/body;\n"
        f"    proxy_temp_path {work}/proxy;\n    include {work}/site.conf;\n}}\n"
    )
    return main


def slow_client(port: int, interval: float, until: float) -> None:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(HEAD)
            while time.monotonic() < until:
                sock.sendall(b"1\r\n \r\n")
                time.sleep(interval)
    except OSError:
        pass  # the server gave up on us: that is what a server should do


def measure(port: int, clients: int, interval: float, duration: float) -> tuple[int, int, float]:
    """(probes, answered, slowest seconds) of /health while `clients` upload slowly."""
    until = time.monotonic() + duration
    threads = [
        threading.Thread(target=slow_client, args=(port, interval, until), daemon=True)
        for _ in range(clients)
    ]
    for thread in threads:
        thread.start()
    time.sleep(1)
    probes = answered = 0
    slowest = 0.0
    while time.monotonic() < until - 1:
        started = time.monotonic()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=25):
                answered += 1
        except OSError:
            pass
        probes += 1
        slowest = max(slowest, time.monotonic() - started)
        time.sleep(0.5)
    for thread in threads:
        thread.join(timeout=interval + 5)
    return probes, answered, slowest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=30.0)
    args = parser.parse_args()
    nginx = shutil.which("nginx")
    if nginx is None:
        print("nginx is not installed (apt-get install nginx)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="slow-clients-"))
    api_port, proxy_port = free_port(), free_port()
    env = {
        "PATH": f"{REPO_ROOT / '.venv' / 'bin'}:/usr/bin:/bin",
        "API_BIND": f"127.0.0.1:{api_port}",
        "WEB_CONCURRENCY": "2",
        "JWT_SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
    }
    rows = []
    with Processes() as processes:
        api = processes.start(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
            env,
            name="api",
            log_path=work / "gunicorn.log",
        )
        api.wait_until_answers(f"http://127.0.0.1:{api_port}/health", timeout_s=30)
        config = nginx_config(work, proxy_port, api_port)
        foreground = ["-g", "daemon off;"]
        proxy = processes.start(
            [nginx, "-p", str(work), "-c", str(config), "-e", str(work / "error.log"), *foreground],
            name="nginx",
            log_path=work / "nginx.log",
        )
        proxy.wait_until_answers(f"http://127.0.0.1:{proxy_port}/health", timeout_s=30)
        for label, port in (("gunicorn directly", api_port), ("through nginx", proxy_port)):
            probes, answered, slowest = measure(port, args.clients, args.interval, args.duration)
            rows.append(f"| {label} | {probes} | {answered} | {slowest:.2f} |")
    print(
        f"{args.clients} clients, one body byte every {args.interval:g} s, "
        f"{args.duration:g} s per side\n"
    )
    print("| API reached | /health probes | answered | slowest (s) |")
    print("|---|---|---|---|")
    print("\n".join(rows))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
