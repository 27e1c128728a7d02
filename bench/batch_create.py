"""How long `POST /batches` takes with 10 000 and 50 000 recipients, and the API worker's
peak memory meanwhile, against a gunicorn API on PostgreSQL.

    .venv/bin/python -m bench.batch_create [--unsubscribe] [--database NAME]

`--unsubscribe`: the template's content ends with `{{ unsubscribe_url }}` and the API
has a PUBLIC_BASE_URL, so every row signs and renders its own unsubscribe link.

One gunicorn worker (so its peak RSS is the request's), on a free 127.0.0.1 port. The
peak is the kernel's high-water mark (`VmHWM` in /proc/<pid>/status) of that worker, read
after each request. The machine's load average is printed beside the figures. Like the
other benchmarks it creates, migrates and DROPs its own database (`--database`, whose name
must contain `bench`).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

from bench.database import Database
from bench.processes import Processes, free_port

SIZES = (10_000, 50_000)
LIMITS_S = {10_000: 2.0, 50_000: 10.0}
RSS_LIMIT_MIB = 250
LOG = Path(tempfile.gettempdir()) / f"bench-batch-api-{os.getpid()}.log"


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def _worker_pid(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    if len(children) != 1:
        raise RuntimeError(f"expected one gunicorn worker, found {children}")
    return int(children[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--unsubscribe", action="store_true", help="render a link per row")
    parser.add_argument(
        "--database",
        default="notifier_batch_create_bench",
        help="created and DROPPED by the run; must contain 'bench'",
    )
    options = parser.parse_args()
    database = Database(options.database)
    env = {
        **os.environ,
        "JWT_SECRET_KEY": "bench-secret-key-of-at-least-thirty-two-bytes",
        "RATELIMIT_STORAGE_URI": "memory://",
        "DATABASE_URL": database.dsn,
    }
    database.recreate()
    try:
        database.migrate(env)
        return _measure(options, env)
    finally:
        database.drop()


def _measure(options: argparse.Namespace, env: dict[str, str]) -> int:
    port = free_port()
    content = "Your code is {{ code }}. See you soon."
    if options.unsubscribe:
        env["PUBLIC_BASE_URL"] = "https://notify.example.com"
        content += " Unsubscribe: {{ unsubscribe_url }}"
    argv = [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "wsgi:app"]
    with Processes() as processes:
        server = processes.start(argv, env, name="api", log_path=LOG)
        base = f"http://127.0.0.1:{port}"
        server.wait_until_answers(f"{base}/health")
        worker = _worker_pid(server.pid)
        session = requests.Session()
        email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
        password = secrets.token_urlsafe(16)
        session.post(f"{base}/users", json={"name": "Bench", "email": email, "password": password})
        login = session.post(f"{base}/auth/login", json={"email": email, "password": password})
        session.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        template = session.post(
            f"{base}/templates",
            json={
                "name": "Bench",
                "channel": "email",
                "title": "Hello {{ name }}",
                "content": content,
            },
        ).json()
        print(f"load average before: {os.getloadavg()}")
        failed = False
        for size in SIZES:
            recipients = [
                {
                    "target": f"person{i}@example.com",
                    "personalisation": {"name": f"Person {i}", "code": i},
                    "reference": f"ref-{i}",
                }
                for i in range(size)
            ]
            started = time.perf_counter()
            response = session.post(
                f"{base}/batches", json={"template_id": template["id"], "recipients": recipients}
            )
            elapsed = time.perf_counter() - started
            peak = _peak_rss_mib(worker)
            ok = response.status_code == 201 and elapsed <= LIMITS_S[size]
            failed |= not ok or (size == 50_000 and peak > RSS_LIMIT_MIB)
            print(
                f"{size:>6} recipients: {response.status_code} in {elapsed:.2f} s "
                f"(limit {LIMITS_S[size]} s); worker peak RSS {peak:.0f} MiB "
                f"(limit {RSS_LIMIT_MIB}); load average {os.getloadavg()[0]:.2f}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
