"""Benchmark webhooks on PostgreSQL: the sender's rate, and its cost to the dispatcher.

    .venv/bin/python bench/webhook_bench.py
    .venv/bin/python bench/webhook_bench.py --events 600 --count 1000 --repeat 1   # short

Steps: (re)create the database `notifier_webhook_bench` (or `--database`), migrate it,
start a webhook receiver in this process (a threaded HTTP server on 127.0.0.1 that
answers 204 after `--receiver-ms`, default 200 ms), then:

- **(a) sender rate**: insert `--events` due webhook deliveries for one webhook, start
  ONE worker (`flask --app wsgi worker`) and measure events/s from the first try's
  start to the last `delivered_at`. Target: at least 100/s.
- **(b) dispatcher cost**: the delivery benchmark's throughput run (`delivery_runs.py`,
  `--count` notifications, the delivery service at `--latency-ms`, default 200 ms, one
  dispatcher) without webhooks, then with one webhook per bench user subscribed to
  every event (so every result writes an event, and the same worker sends them to the
  receiver). Target: with ≥ 0.8x without.

Every process is stopped by PID, the database is dropped; the table goes to stdout and
bench/results/webhooks.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.database import Database  # noqa: E402
from bench.delivery_data import reset  # noqa: E402
from bench.delivery_runs import DeliveryBench, load_average  # noqa: E402
from bench.paths import RESULTS_DIR  # noqa: E402

RESULTS = RESULTS_DIR / "webhooks.md"
LOG_DIR = Path(tempfile.gettempdir()) / f"webhook-bench-{os.getpid()}"
DEFAULT_DATABASE = "notifier_webhook_bench"
SECRET = "whsec_" + "A" * 43 + "="
PAYLOAD = '{"type":"notification.sent","timestamp":"2026-11-24T10:15:00+00:00","data":{}}'
WORKER_ENV = {
    "DELIVERY_POLL_INTERVAL_S": "1",
    "LOG_LEVEL": "WARNING",
    "WEBHOOK_ALLOW_HTTP": "1",
    "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1",
    "WEBHOOK_POLL_INTERVAL_S": "0.2",
}


class Receiver:
    """Answers 204 after a fixed delay; counts requests. Runs in this process."""

    def __init__(self, delay_ms: int) -> None:
        delay = delay_ms / 1000
        self.count = 0
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(delay)
                with lock:
                    receiver.count += 1
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = 256
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def add_webhooks(db: Database, user_ids: list[int], url: str) -> list[int]:
    rows = db.execute(
        "INSERT INTO webhooks (user_id, url, event_mask, enabled, secret, created_at,"
        " updated_at) SELECT u, %s, 7, true, %s, now(), now() FROM unnest(%s::bigint[]) AS u"
        " RETURNING id",
        (url, SECRET, user_ids),
    )
    return [row[0] for row in rows]


def sender_rate(bench: DeliveryBench, db: Database, webhook_id: int, events: int) -> dict:
    db.execute("TRUNCATE webhook_deliveries")
    db.execute(
        "INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, payload, status,"
        " attempts, next_attempt_at, created_at) SELECT %s, 'msg_' || md5(g::text),"
        " 'notification.sent', %s, 'pending', 0, now(), now() FROM generate_series(1, %s) g",
        (webhook_id, PAYLOAD, events),
    )
    # A worker with no notification to send: only its webhook sender works.
    (worker,) = bench.start_dispatchers(1, "http://127.0.0.1:9")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        ((done,),) = db.execute("SELECT count(*) FROM webhook_deliveries WHERE status <> 'pending'")
        if done >= events:
            break
        time.sleep(0.2)
    bench.procs.stop(worker, 15)
    ((delivered, seconds),) = db.execute(
        "SELECT count(*) FILTER (WHERE status = 'delivered'), extract(epoch FROM"
        " max(delivered_at) - min(delivered_at - duration_ms * interval '1 ms'))"
        " FROM webhook_deliveries"
    )
    return {"events": events, "delivered": delivered, "seconds": float(seconds)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--count", type=int, default=3000, help="notifications in (b)")
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--receiver-ms", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    args = parser.parse_args(argv)
    db = Database(args.database)
    bench = DeliveryBench(db, LOG_DIR, dict(WORKER_ENV))
    receiver = Receiver(args.receiver_ms)
    lines: list[str] = []
    load = load_average()
    with db.exclusive() as alone:
        if not alone:
            print("another run holds this database; try again later", file=sys.stderr)
            return 1
        try:
            db.recreate()
            db.migrate(bench.base_env())
            connection = db.connect()
            bench.users = reset(connection)
            connection.close()
            (hook,) = add_webhooks(db, bench.users[:1], receiver.url)
            rates = []
            for i in range(args.repeat):
                print(f"(a) sender rate, run {i + 1}...", file=sys.stderr)
                result = sender_rate(bench, db, hook, args.events)
                rates.append(result["delivered"] / result["seconds"])
            db.execute("DELETE FROM webhooks")
            without, with_ = [], []
            with bench.delivery_service(args.latency_ms) as service:
                for i in range(args.repeat):
                    print(f"(b) dispatcher without webhooks, run {i + 1}...", file=sys.stderr)
                    without.append(bench.throughput(service, args.latency_ms, 1, args.count))
                add_webhooks(db, bench.users, receiver.url)
                for i in range(args.repeat):
                    print(f"(b) dispatcher with webhooks, run {i + 1}...", file=sys.stderr)
                    db.execute("TRUNCATE webhook_deliveries")
                    with_.append(bench.throughput(service, args.latency_ms, 1, args.count))
                ((events,),) = db.execute("SELECT count(*) FROM webhook_deliveries")
        finally:
            bench.procs.stop_all()
            receiver.stop()
            db.drop()
        shutil.rmtree(LOG_DIR, ignore_errors=True)
    a = sorted(rates)[len(rates) // 2]
    b0 = sorted(r.per_s for r in without)[len(without) // 2]
    b1 = sorted(r.per_s for r in with_)[len(with_) // 2]
    lines = [
        f"# Webhook benchmark (load average {load:.2f} before the run; 2 shared cores)",
        "",
        "| measure | median | runs | target | verdict |",
        "|---|---|---|---|---|",
        f"| (a) webhook events/s, one worker, receiver {args.receiver_ms} ms | {a:.0f}/s"
        f" | {', '.join(f'{r:.0f}' for r in rates)} | ≥ 100/s | {'ok' if a >= 100 else 'MISSED'} |",
        f"| (b) deliveries/s at {args.latency_ms} ms, no webhook | {b0:.0f}/s"
        f" | {', '.join(f'{r.per_s:.0f}' for r in without)} | | |",
        f"| (b) deliveries/s at {args.latency_ms} ms, one webhook per user, every event"
        f" | {b1:.0f}/s ({b1 / b0:.2f}x) | {', '.join(f'{r.per_s:.0f}' for r in with_)}"
        f" | ≥ 0.8x | {'ok' if b1 >= 0.8 * b0 else 'MISSED'} |",
        "",
        f"(b) exactly once with webhooks: {all(r.exactly_once for r in with_)};"
        f" webhook events written in the last run: {events}.",
    ]
    report = "\n".join(lines) + "\n"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
