"""The Celery peer: one task per notification, the way GOV.UK Notify delivers.

Notify's API writes the notification row and enqueues one Celery task carrying its
id; a Celery worker takes the task, reads the row, calls the provider and writes
the status back with one UPDATE. This module is that worker, calling the same
delivery service (`POST /deliver`, same body, same bearer token) as the notifier's
dispatcher, against the same `notifications` table.

    venv/bin/celery -A tasks worker -P gevent -c 192 --without-gossip --without-mingle \
        --without-heartbeat -Q deliveries

It runs in its own virtualenv (`requirements.txt` beside it), never in the
notifier's: it imports nothing from the notifier. Settings come from the
environment: `PEER_BROKER_URL`, `PEER_DATABASE_URL`, `PEER_DELIVERY_URL`,
`DELIVERY_API_TOKEN`, `PEER_CONCURRENCY` (sizes the HTTP pool and bounds the
database pool), `PEER_DB_POOL` (database connections per worker process),
`PEER_PREFETCH` (the prefetch multiplier). Why each Celery setting is what it is:
README.md.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any

import gevent.lock
import psycopg2
import psycopg2.extensions
import psycopg2.pool
import requests
from celery import Celery
from gevent.socket import wait_read, wait_write
from requests.adapters import HTTPAdapter

BROKER_URL = os.environ.get("PEER_BROKER_URL", "redis://127.0.0.1:6379/11")
DATABASE_URL = os.environ.get("PEER_DATABASE_URL", "")
DELIVERY_URL = os.environ.get("PEER_DELIVERY_URL", "http://127.0.0.1:8001")
TOKEN = os.environ.get("DELIVERY_API_TOKEN", "")
CONCURRENCY = int(os.environ.get("PEER_CONCURRENCY", "128"))
DB_POOL = int(os.environ.get("PEER_DB_POOL", "10"))
QUEUE = "deliveries"

app = Celery("celery_notify", broker=BROKER_URL)
app.conf.update(
    task_acks_late=True,  # ack after the task ran: a killed worker's tasks go back
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=int(os.environ.get("PEER_PREFETCH", "4")),
    task_ignore_result=True,  # no result backend round trip per task
    # One backend object for the process: otherwise each greenlet (a "thread" to Celery)
    # builds its own on its first task, scanning entry points each time.
    result_backend_thread_safe=True,
    task_serializer="json",
    accept_content=["json"],
    task_default_queue=QUEUE,
    worker_disable_rate_limits=True,
    broker_connection_retry_on_startup=True,
    # A task not acked within this is handed out again (Redis has no acks of its own).
    broker_transport_options={"visibility_timeout": 3600},
    worker_hijack_root_logger=False,
)


def _gevent_wait(connection: Any, timeout: float | None = None) -> None:
    """psycopg2's wait callback for gevent (what psycogreen installs): a query
    waits on its socket cooperatively instead of blocking every greenlet."""
    while True:
        state = connection.poll()
        if state == psycopg2.extensions.POLL_OK:
            return
        if state == psycopg2.extensions.POLL_READ:
            wait_read(connection.fileno(), timeout=timeout)
        elif state == psycopg2.extensions.POLL_WRITE:
            wait_write(connection.fileno(), timeout=timeout)
        else:
            raise psycopg2.OperationalError(f"bad poll state {state}")


psycopg2.extensions.set_wait_callback(_gevent_wait)

_pool: psycopg2.pool.ThreadedConnectionPool | None = None
# The pool raises when it runs dry; this makes a greenlet wait for a connection instead.
_pool_slots = gevent.lock.BoundedSemaphore(DB_POOL)
# Connecting yields to other greenlets: without this, two could each make a pool.
_pool_creation = gevent.lock.Semaphore()
_session = requests.Session()
_session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=CONCURRENCY))
_session.headers["Authorization"] = f"Bearer {TOKEN}"


@contextmanager
def _connection() -> Any:
    global _pool
    with _pool_slots:
        with _pool_creation:
            if _pool is None:
                # minconn = maxconn: the pool closes any connection above minconn on putconn.
                _pool = psycopg2.pool.ThreadedConnectionPool(DB_POOL, DB_POOL, DATABASE_URL)
        connection = _pool.getconn()
        try:
            with connection:  # commit, or roll back on an error
                yield connection
        finally:
            _pool.putconn(connection)


@app.task(name="deliver", bind=True, max_retries=5, default_retry_delay=2)
def deliver(self: Any, notification_id: int) -> None:
    """Read the notification, call the delivery service, write the outcome back."""
    with _connection() as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT delivery_key, channel, target, title, content, sandbox"
            " FROM notifications WHERE id = %s AND status = 'pending'",
            (notification_id,),
        )
        row = cursor.fetchone()
    if row is None:
        return  # already sent (a redelivered task) or deleted
    key, channel, target, title, content, sandbox = row
    body = {
        "notification_id": notification_id,
        "idempotency_key": key,
        "channel": channel,
        "target": target,
        "title": title,
        "content": content,
        "sandbox": sandbox,
    }
    try:
        response = _session.post(f"{DELIVERY_URL}/deliver", json=body, timeout=10)
    except requests.RequestException as error:
        raise self.retry(exc=error) from error
    if response.status_code >= 500 or response.status_code in (408, 429):
        raise self.retry()
    if response.status_code != 200:
        status, message_id = "failed", None
    else:
        status, message_id = "sent", response.json().get("provider_message_id")
    with _connection() as connection, connection.cursor() as cursor:
        cursor.execute(
            "UPDATE notifications SET status = %s,"
            " sent_at = CASE WHEN %s = 'sent' THEN now() END,"
            " provider_message_id = %s, attempts = attempts + 1, version = version + 1,"
            " updated_at = now() WHERE id = %s",
            (status, status, message_id, notification_id),
        )
