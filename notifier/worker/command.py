"""`flask --app wsgi worker`: run the dispatcher until SIGTERM or SIGINT.

The first SIGTERM/SIGINT stops claiming; in-flight sends finish (each bounded
by `DELIVERY_TIMEOUT_S`) and are recorded, anything claimed but not sent is
released, and the process exits 0. A second signal exits at once (the leases
of whatever was in flight then expire and other dispatchers take it back).
"""

from __future__ import annotations

import logging
import os
import signal
from datetime import datetime
from types import FrameType
from wsgiref.simple_server import WSGIServer

import click
from flask import current_app
from sqlalchemy.engine import Engine

from notifier.database import utcnow
from notifier.observability.logs import configure_logging

log = logging.getLogger("notifier.worker")


def _configure_logging(level: str) -> None:
    """Log to stderr (text, or JSON with LOG_FORMAT=json) unless the host (a test)
    already set logging up."""
    configure_logging(current_app, level=level)
    logging.getLogger("notifier").setLevel(level)


def _start_metrics_server(engine: Engine) -> WSGIServer | None:
    """`GET /metrics` on WORKER_METRICS_PORT; the queue gauges are measured at each scrape."""
    config = current_app.config
    if not config.get("WORKER_METRICS_PORT"):
        return None
    # Loaded only when the worker serves metrics (see `worker` below for why).
    from notifier.notifications.lifecycle import Status
    from notifier.notifications.models import Notification
    from notifier.observability.exposition import start_worker_metrics_server
    from notifier.observability.metrics import due_queue_stats, set_queue_gauges

    table = Notification.__table__

    def refresh_queue_gauges() -> None:
        set_queue_gauges(*due_queue_stats(engine, table, Status.PENDING, utcnow()))

    return start_worker_metrics_server(
        int(config["WORKER_METRICS_PORT"]),
        config.get("METRICS_TOKEN") or "",
        host=config.get("WORKER_METRICS_HOST") or "0.0.0.0",  # noqa: S104
        before_scrape=refresh_queue_gauges,
    )


@click.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 1024),
    default=None,
    help="Parallel deliveries (default DELIVERY_CONCURRENCY).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 10_000),
    default=None,
    help="Most rows claimed at once (default DELIVERY_BATCH_SIZE).",
)
@click.option(
    "--poll-interval",
    type=click.FloatRange(0.01, 3600),
    default=None,
    help="Seconds between polls when idle (default DELIVERY_POLL_INTERVAL_S).",
)
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    default=lambda: os.environ.get("LOG_LEVEL", "INFO"),
    show_default="INFO or $LOG_LEVEL",
)
def worker(
    once: bool,
    concurrency: int | None,
    batch_size: int | None,
    poll_interval: float | None,
    log_level: str,
) -> None:
    """Deliver pending notifications (stops cleanly on SIGTERM/SIGINT)."""
    # Loaded when the command runs: the app registers this command in every
    # process, and web workers need neither the dispatcher nor its HTTP client.
    from notifier.extensions import db
    from notifier.notifications.retention import purge_idempotency_keys
    from notifier.ratelimit import purge_expired
    from notifier.webhooks.sender import WebhookSender
    from notifier.worker.policy import Settings
    from notifier.worker.runner import Dispatcher

    _configure_logging(log_level.upper())
    metrics_server = _start_metrics_server(db.engine)
    settings = Settings.from_config(
        current_app.config,
        concurrency=concurrency,
        batch_size=batch_size,
        poll_interval_s=poll_interval,
    )
    if not settings.api_token:
        # Not fatal (a development delivery service may run unauthenticated), but every
        # delivery to a guarded one would be a 401: say why up front.
        log.warning(
            "DELIVERY_API_TOKEN is not set: the delivery service will refuse every request "
            "unless it runs with DELIVERY_ALLOW_UNAUTHENTICATED=1"
        )

    def purge(older_than: datetime) -> int:
        try:
            purge_expired()
            webhooks.purge_old()
            return purge_idempotency_keys(older_than)
        finally:
            db.session.remove()  # give the connection back; the loop uses Core

    # The app's engine and pool (DB_POOL_SIZE) are enough: only the main loop and the
    # recorder thread use connections steadily; sender threads hold none.
    dispatcher = Dispatcher(db.engine, settings, purge=purge)
    webhooks = WebhookSender.from_config(db.engine, current_app.config)  # its own threads

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("%s: finishing in-flight deliveries, then exiting", signal.Signals(signum).name)
        dispatcher.stop()
        webhooks.stop()
        # A second signal ends the process at once.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    webhooks.start()
    try:
        dispatcher.run(once=once)
    finally:
        webhooks.stop()
        webhooks.join()
        if metrics_server is not None:
            metrics_server.shutdown()
            metrics_server.server_close()
        db.engine.dispose()
