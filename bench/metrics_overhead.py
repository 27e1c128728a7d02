"""What metrics cost the API's GET and create: in-process, metrics on against off.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/<db> \\
        .venv/bin/python bench/metrics_overhead.py [--requests 600] [--rounds 3]

Each measurement runs in its own process (prometheus_client picks its value class
at import, and the app's hooks are fixed when it is built): `off` (no
METRICS_TOKEN: no route, no hooks), `on` (hooks, values in memory, one gunicorn
worker or the worker's registry) and `multiproc` (hooks, values in mmap files as
under gunicorn with several workers). A process builds the schema afresh in the
given database (it is emptied; never point it at data you keep), logs in once,
then times `GET /notifications/<id>` and `POST /notifications` through
`app.test_client()` with `time.process_time()` around each request: the API's
own CPU, the database's excluded. Rounds alternate the modes; the table shows
the median over rounds of each run's median, and on/off as a throughput ratio
(off time / on time: 0.95 means 5 % slower).
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
MODES = ("off", "on", "multiproc")
TOKEN = "bench-metrics-token-0123456789"  # noqa: S105 (a local benchmark)


def measure(requests: int) -> dict[str, float]:
    """In the child: build the app, warm up, time GET and create; median µs of CPU each."""
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade
    from sqlalchemy import text

    from config import TestConfig
    from notifier import create_app
    from notifier.extensions import db
    from tests.factories import PASSWORD, UserFactory

    class BenchConfig(TestConfig):
        METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
        RATELIMIT_LOGIN = "1000000 per minute"

    app = create_app(BenchConfig)
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

        def create() -> int:
            response = client.post("/notifications", json=body, headers=headers)
            assert response.status_code == 201, response.get_json()
            return response.get_json()["id"]

        ids = [create() for _ in range(50)]  # warm-up, and rows to read
        for notification_id in ids:
            client.get(f"/notifications/{notification_id}", headers=headers)

        def timed(call) -> float:
            spent = []
            for _ in range(requests):
                started = time.process_time()
                call()
                spent.append(time.process_time() - started)
            return statistics.median(spent) * 1e6

        get_path = f"/notifications/{ids[0]}"
        result = {
            "get": timed(lambda: client.get(get_path, headers=headers)),
            "create": timed(create),
        }
        db.session.remove()
        db.engine.dispose()
    return result


def run_child(mode: str, requests: int) -> dict[str, float]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"METRICS_TOKEN", "PROMETHEUS_MULTIPROC_DIR"}
    }
    with tempfile.TemporaryDirectory(prefix="notifier-bench-metrics-") as directory:
        if mode != "off":
            env["METRICS_TOKEN"] = TOKEN
        if mode == "multiproc":
            env["PROMETHEUS_MULTIPROC_DIR"] = directory
        output = subprocess.run(
            [sys.executable, __file__, "--child", "--requests", str(requests)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.requests)))
        return
    if not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"):
        sys.exit("set TEST_DATABASE_URL to a PostgreSQL database this may empty")
    runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    for number in range(args.rounds):
        order = MODES if number % 2 == 0 else tuple(reversed(MODES))
        for mode in order:
            runs[mode].append(run_child(mode, args.requests))
            print(f"round {number + 1} {mode}: {runs[mode][-1]}", file=sys.stderr)
    print(f"{args.requests} requests per run, {args.rounds} rounds; CPU µs per request (median)")
    print("| request | off | on | on/off | multiproc | multiproc/off |")
    print("|---|---:|---:|---:|---:|---:|")
    for request in ("get", "create"):
        off, on, multi = (statistics.median(run[request] for run in runs[mode]) for mode in MODES)
        ratios = f"{off / on:.3f} | {multi:.0f} | {off / multi:.3f}"
        print(f"| {request} | {off:.0f} | {on:.0f} | {ratios} |")


if __name__ == "__main__":
    main()
