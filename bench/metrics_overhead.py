"""What metrics cost the API's GET and create: in-process, metrics on against off.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/<db> \\
        .venv/bin/python bench/metrics_overhead.py [--requests 1000] [--block 50]

Two processes, one per way of storing values (prometheus_client picks it at
import): `memory` (one process; the worker, or gunicorn with one worker) and
`multiproc` (mmap files in PROMETHEUS_MULTIPROC_DIR, as under gunicorn with
several workers). Each builds the schema afresh in the given database (it is
emptied: never point it at data you keep), builds the app with METRICS_TOKEN,
logs in once, then times `GET /notifications/<id>` and `POST /notifications`
through `app.test_client()` with `time.process_time()` around each request: the
API's own CPU, the database's excluded.

On a shared machine the CPU time of one request moves by tens of percent from
one minute to the next, far more than the hooks cost; separate runs for on and
off measure the machine. So one process alternates blocks of `--block` requests
with the metrics hooks registered and removed (`off` is exactly a deployment
without METRICS_TOKEN: no hooks), and compares the medians of the two sets. The
ratio is throughput, off time / on time: 0.95 would mean 5 % slower.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STORES = ("memory", "multiproc")
HOOKS = ("start_timer", "count_request")
TOKEN = "bench-metrics-token-0123456789"  # noqa: S105 (a local benchmark)


def measure(requests: int, block: int) -> dict[str, dict[str, float]]:
    """In the child: median and mean µs of CPU for GET and create, hooks on and off."""
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade
    from sqlalchemy import text

    from config import TestConfig
    from notifier import create_app
    from notifier.extensions import db
    from tests.factories import PASSWORD, UserFactory

    class BenchConfig(TestConfig):
        METRICS_TOKEN = TOKEN
        RATELIMIT_LOGIN = "1000000 per minute"

    app = create_app(BenchConfig)
    hooks = {
        kind: [f for f in funcs[None] if getattr(f, "__name__", "") in HOOKS]
        for kind, funcs in (
            ("before", app.before_request_funcs),
            ("after", app.after_request_funcs),
        )
    }
    assert all(len(found) == 1 for found in hooks.values()), hooks

    def set_hooks(on: bool) -> None:
        """A bench-only switch: the same app with and without the metrics hooks."""
        for kind, funcs in (
            ("before", app.before_request_funcs),
            ("after", app.after_request_funcs),
        ):
            hook = hooks[kind][0]
            if on and hook not in funcs[None]:
                funcs[None].append(hook) if kind == "before" else funcs[None].insert(0, hook)
            elif not on and hook in funcs[None]:
                funcs[None].remove(hook)

    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        db.engine.dispose()
        upgrade(directory=str(ROOT / "migrations"))
        user = UserFactory()
        client = app.test_client()
        login = client.post("/auth/login", json={"email": user.email, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
        body = {"title": "Hi", "content": "Hello", "channel": "email", "target": "a@example.com"}

        def create() -> None:
            response = client.post("/notifications", json=body, headers=headers)
            assert response.status_code == 201, response.get_json()

        def get() -> None:
            assert client.get(get_path, headers=headers).status_code == 200

        first = client.post("/notifications", json=body, headers=headers).get_json()
        get_path = f"/notifications/{first['id']}"
        result = {}
        for name, call in (("get", get), ("create", create)):
            for _ in range(100):  # warm-up
                call()
            spent: dict[bool, list[float]] = {True: [], False: []}
            for number in range(2 * requests // block):
                on = number % 2 == 0
                set_hooks(on)
                for _ in range(block):
                    started = time.process_time()
                    call()
                    spent[on].append(time.process_time() - started)
            set_hooks(True)
            for on, label in ((True, "on"), (False, "off")):
                result[f"{name}_{label}_median"] = statistics.median(spent[on]) * 1e6
                result[f"{name}_{label}_mean"] = statistics.fmean(spent[on]) * 1e6
        db.session.remove()
        db.engine.dispose()
    return result


def run_child(store: str, requests: int, block: int) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    # Where gunicorn.conf.py puts it by default: memory-backed, no page write-back.
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
    with tempfile.TemporaryDirectory(prefix="notifier-bench-metrics-", dir=base) as directory:
        if store == "multiproc":
            env["PROMETHEUS_MULTIPROC_DIR"] = directory
        output = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                "--requests",
                str(requests),
                "--block",
                str(block),
            ],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=1200,
        ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="per request kind and side")
    parser.add_argument("--block", type=int, default=50, help="requests before switching")
    parser.add_argument("--stores", default=",".join(STORES), help="memory,multiproc")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.requests, args.block)))
        return
    if not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"):
        sys.exit("set TEST_DATABASE_URL to a PostgreSQL database this may empty")
    print(f"{args.requests} requests per kind and side, in blocks of {args.block}; CPU µs")
    print("| values | request | off median | on median | off/on | off mean | on mean | off/on |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for store in args.stores.split(","):
        found = run_child(store, args.requests, args.block)
        for request in ("get", "create"):
            cells = []
            for stat in ("median", "mean"):
                off, on = found[f"{request}_off_{stat}"], found[f"{request}_on_{stat}"]
                cells += [f"{off:.0f}", f"{on:.0f}", f"{off / on:.3f}"]
            print(f"| {store} | {request} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
