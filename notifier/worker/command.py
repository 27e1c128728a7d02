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
import sys
from datetime import datetime
from types import FrameType

import click
from flask import current_app

log = logging.getLogger("notifier.worker")


def _configure_logging(level: str) -> None:
    """Log to stderr unless the host (gunicorn, a test) already set logging up."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(
            level=level,
            stream=sys.stderr,
            format="%(asctime)s %(levelname)s [worker %(process)d] %(name)s: %(message)s",
        )
    logging.getLogger("notifier").setLevel(level)


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
    from notifier.extensions import db
    from notifier.notifications.service import purge_idempotency_keys
    from notifier.ratelimit import DatabaseStorage
    from notifier.worker.policy import Settings
    from notifier.worker.runner import Dispatcher

    _configure_logging(log_level.upper())
    settings = Settings.from_config(
        current_app.config,
        concurrency=concurrency,
        batch_size=batch_size,
        poll_interval_s=poll_interval,
    )

    def purge(older_than: datetime) -> int:
        try:
            DatabaseStorage().purge_expired()
            return purge_idempotency_keys(older_than)
        finally:
            db.session.remove()  # give the connection back; the loop uses Core

    # The app's engine and pool (DB_POOL_SIZE) are enough: only the main loop and the
    # recorder thread use connections steadily; sender threads hold none.
    dispatcher = Dispatcher(db.engine, settings, purge=purge)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("%s: finishing in-flight deliveries, then exiting", signal.Signals(signum).name)
        dispatcher.stop()
        # A second signal ends the process at once.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        dispatcher.run(once=once)
    finally:
        db.engine.dispose()
