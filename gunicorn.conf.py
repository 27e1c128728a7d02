"""gunicorn settings of the Notification API (loaded from the working directory).

Sync workers: each request is short and CPU-bound (JSON, schemas, one or two
indexed queries), so one process per request in flight, about two per core,
keeps the CPUs busy without thread contention on the GIL.
"""

import multiprocessing
import os

from notifier.observability import multiproc

# Metrics of all workers summed (only with METRICS_TOKEN): the directory must be in the
# environment before a worker imports prometheus_client. See notifier/observability/multiproc.py.
multiproc.prepare_multiproc_dir()

bind = os.environ.get("API_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
# gunicorn's sync worker, answering the errors of its HTTP parser (414, 431, 400...) in
# the one error shape instead of HTML. Keep `threads` at 1: above it gunicorn swaps in its
# threaded worker, which answers those in HTML.
worker_class = "notifier.gunicorn_workers.SyncWorker"
timeout = 30
graceful_timeout = 30
keepalive = 5
# A header line of up to 16 KiB reaches the app (gunicorn's default stops at 8 KiB with
# a 431): an over-long Authorization value then gets the API's 401.
limit_request_field_size = 16_384
max_requests = 10_000
max_requests_jitter = 1_000
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
# gunicorn's default format, and the request id the API answered with.
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %({x-request-id}o)s'
)
errorlog = "-"
# JSON lines with LOG_FORMAT=json, and the request id on access lines.
logger_class = "notifier.observability.gunicorn_logging.Logger"
# gunicorn 27 opens a control socket at one fixed path per user; two servers on
# one host (API and delivery, or the benchmark's floor app) would fight over it.
control_socket_disable = True


def post_fork(server, worker) -> None:
    """Give big buffers back to the kernel when they are freed.

    Each login hashes with Argon2id, which allocates a large buffer. glibc's
    adaptive mmap threshold grows after the first such free, so later buffers
    come from the heap and the worker keeps them (figures in docs/operations/performance.md). A
    fixed threshold keeps every large buffer mmapped, and freed for real.
    """
    import ctypes
    import ctypes.util

    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return
    try:
        libc = ctypes.CDLL(libc_name)
        m_mmap_threshold = -3
        libc.mallopt(m_mmap_threshold, 1024 * 1024)
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return


def post_worker_init(worker) -> None:
    """Hide the loaded application from the garbage collector.

    After start-up a worker holds about 90 000 long-lived objects (Flask,
    SQLAlchemy, marshmallow, the OpenAPI spec); every full collection walked
    them all. Frozen, they are never scanned again (the figure is in
    docs/operations/performance.md). Memory is unchanged; objects made per request are
    collected as before.
    """
    import gc

    gc.collect()
    gc.freeze()


def on_starting(server) -> None:
    multiproc.clear_multiproc_dir()


def child_exit(server, worker) -> None:
    multiproc.mark_worker_dead(worker.pid)


def on_exit(server) -> None:
    multiproc.remove_multiproc_dir()
