"""Gunicorn settings for the delivery service.

    gunicorn -c delivery/gunicorn.conf.py 'delivery:create_app()'

The gevent worker runs each request in a greenlet, so the simulated latency
(``time.sleep``, patched by gevent) lets the worker serve others meanwhile. Gunicorn
monkey-patches in each worker before it loads the app; this file runs in the
master and imports only ``os`` and :mod:`notifier.observability.multiproc` (standard
library only), and the logger and worker classes it names import gunicorn, gevent,
the standard library and logging only (no Flask), so nothing is imported unpatched.

One worker process by default, deliberately: without ``DELIVERY_IDEMPOTENCY_URL``
the idempotency store and the ``/stats`` counters live in process memory, so with
more processes a repeat of a key could land on a process that never saw it (and
be sent twice), and each process would count only its own deliveries. With
``DELIVERY_IDEMPOTENCY_URL=redis://…`` both live in Redis and any number of
workers (compose runs three) and replicas share them. One gevent worker handles
``worker_connections`` concurrent requests; the SMTP, Twilio and FCM providers do
their I/O through gevent's patched sockets, so a slow provider blocks no one.

Environment: ``DELIVERY_BIND`` (default ``127.0.0.1``; a host without a port gets
``$PORT``, default 8001: ``DELIVERY_BIND=0.0.0.0`` on a platform that sets ``PORT``),
``DELIVERY_WORKERS`` (1), ``DELIVERY_WORKER_CONNECTIONS`` (1000),
``DELIVERY_ACCESS_LOG`` (unset: off; ``-`` for stdout), ``DELIVERY_LOG_LEVEL`` (info).
"""

import os

from notifier.observability import multiproc

# Metrics of all workers summed (only with METRICS_TOKEN); see the API's gunicorn.conf.py.
multiproc.prepare_multiproc_dir()

# Loopback unless told otherwise: only the dispatcher may call this service, and on one
# host it is next to it. A container sets DELIVERY_BIND=0.0.0.0:8001 so that the worker
# container reaches it over the compose network (which publishes no host port for it).
_bind = os.environ.get("DELIVERY_BIND") or "127.0.0.1"
# "host:port", "[v6]:port" and "unix:path" are taken as they are; a bare host gets $PORT.
_has_port = ":" in _bind.rpartition("]")[2] or _bind.startswith("unix:")
bind = _bind if _has_port else f"{_bind}:{os.environ.get('PORT', '8001')}"
wsgi_app = "delivery:create_app()"
# gunicorn's gevent worker, answering the errors of its HTTP parser in the one error shape.
worker_class = "notifier.gunicorn_gevent.GeventWorker"
workers = int(os.environ.get("DELIVERY_WORKERS", "1"))
worker_connections = int(os.environ.get("DELIVERY_WORKER_CONNECTIONS", "1000"))
timeout = 30
graceful_timeout = 10
keepalive = 5
accesslog = os.environ.get("DELIVERY_ACCESS_LOG") or None
errorlog = "-"
# JSON lines with LOG_FORMAT=json.
logger_class = "notifier.observability.gunicorn_logging.Logger"
# Gunicorn 25.1+ opens a control socket at one fixed per-user path by default; a second
# gunicorn on the host (the API) would take it over. Nothing here uses it.
control_socket_disable = True
loglevel = os.environ.get("DELIVERY_LOG_LEVEL", "info")


def on_starting(server) -> None:
    multiproc.clear_multiproc_dir()


def child_exit(server, worker) -> None:
    multiproc.mark_worker_dead(worker.pid)


def on_exit(server) -> None:
    multiproc.remove_multiproc_dir()
