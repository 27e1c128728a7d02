"""Enqueue one Celery task per pending notification, as Notify's API does per request.

    venv/bin/python producer.py --purge

Reads the ids of the `pending` rows of `PEER_DATABASE_URL` and sends one `deliver`
task for each to `PEER_BROKER_URL`. `--purge` empties the broker's queue first, so a
previous run's leftovers cannot be delivered twice. Prints how many it sent.
"""

from __future__ import annotations

import argparse
import sys
import time

import psycopg2
import redis
from tasks import BROKER_URL, DATABASE_URL, QUEUE, app, deliver


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--purge", action="store_true", help="empty the broker's db first")
    args = parser.parse_args(argv)
    if args.purge:
        # The broker URL names a Redis database of the bench's own: flushing it is safe.
        redis.Redis.from_url(BROKER_URL).flushdb()
    connection = psycopg2.connect(DATABASE_URL)
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT id FROM notifications WHERE status = 'pending' ORDER BY id")
        ids = [row[0] for row in cursor.fetchall()]
    connection.close()
    started = time.monotonic()
    with app.producer_or_acquire() as producer:
        for notification_id in ids:
            deliver.apply_async((notification_id,), queue=QUEUE, producer=producer)
    print(f"enqueued {len(ids)} in {time.monotonic() - started:.2f} s", file=sys.stderr)
    print(len(ids))
    return 0


if __name__ == "__main__":
    sys.exit(main())
