"""Dispatcher PROCESSES (`flask --app wsgi worker`) against the real delivery service:
exactly-once delivery with several dispatchers, a dispatcher killed mid-batch, the
delivery service down for a while, and a clean SIGTERM."""

from __future__ import annotations

import signal

from sqlalchemy import func, select

from notifier.extensions import db
from notifier.notifications.models import DeliveryAttempt, Notification
from tests.conftest import postgres_only
from tests.integration.conftest import free_port, insert_notifications, status_counts, wait_for


def _all_sent(total: int) -> bool:
    return status_counts() == {"sent": total}


def _distinct_provider_ids() -> int:
    with db.engine.connect() as connection:
        return connection.execute(
            select(func.count(func.distinct(Notification.provider_message_id)))
        ).scalar_one()


def test_sigterm_finishes_in_flight_deliveries_releases_the_rest_and_exits_0(
    start_delivery_thread, start_worker
):
    delivery = start_delivery_thread(DELIVERY_LATENCY_MS=700)
    insert_notifications(12, users=2)
    worker = start_worker(delivery.url, "--concurrency", "4")
    wait_for(lambda: delivery.stats()["requests"] >= 4, 20, what="four requests in flight")

    worker.process.send_signal(signal.SIGTERM)
    assert worker.process.wait(timeout=15) == 0, worker.log()

    counts = status_counts()
    assert "sending" not in counts, counts
    assert counts.get("sent", 0) >= 4
    # What reached the provider is exactly what is recorded as sent.
    assert delivery.stats()["sent"] == counts["sent"]
    assert counts.get("pending", 0) + counts["sent"] == 12
    with db.engine.connect() as connection:
        pending_attempts = connection.execute(
            select(func.max(Notification.attempts)).where(Notification.status == "pending")
        ).scalar()
    assert pending_attempts in (None, 0)  # released claims do not count as attempts
    assert "dispatcher stopped" in worker.log()


@postgres_only
def test_three_dispatchers_deliver_2000_notifications_exactly_once(
    start_gunicorn_delivery, start_worker
):
    delivery = start_gunicorn_delivery()
    total = 2000
    workers = [start_worker(delivery.url) for _ in range(3)]
    insert_notifications(total, users=20)

    wait_for(lambda: _all_sent(total), 60, 0.25, f"{total} notifications to be sent")

    assert delivery.stats() == {"sent": total, "replays": 0, "requests": total}
    assert _distinct_provider_ids() == total
    with db.engine.connect() as connection:
        attempts = connection.execute(
            select(DeliveryAttempt.outcome, func.count()).group_by(DeliveryAttempt.outcome)
        ).all()
    assert dict(attempts) == {"sent": total}
    for worker in workers:
        worker.process.send_signal(signal.SIGTERM)
    for worker in workers:
        assert worker.process.wait(timeout=15) == 0, worker.log()


@postgres_only
def test_a_dispatcher_killed_mid_batch_loses_nothing(start_gunicorn_delivery, start_worker):
    delivery = start_gunicorn_delivery(DELIVERY_LATENCY_MS=1000)
    total = 150
    lease = {"DELIVERY_LEASE_S": 3, "DELIVERY_TIMEOUT_S": 2}
    doomed = start_worker(delivery.url, "--concurrency", "32", **lease)
    insert_notifications(total, users=5)
    wait_for(lambda: delivery.stats()["requests"] >= 20, 20, what="requests in flight")
    in_flight = status_counts().get("sending", 0)
    assert in_flight > 0

    doomed.process.send_signal(signal.SIGKILL)
    doomed.process.wait(timeout=5)
    survivor = start_worker(delivery.url, "--concurrency", "32", **lease)

    wait_for(lambda: _all_sent(total), 45, 0.25, "every notification to be sent")

    stats = delivery.stats()
    assert stats["sent"] == total  # one message per notification reached the provider
    assert _distinct_provider_ids() == total
    with db.engine.connect() as connection:
        lost = connection.execute(
            select(func.count())
            .select_from(DeliveryAttempt)
            .where(DeliveryAttempt.error.like("No result was recorded%"))
        ).scalar_one()
    assert lost >= 1  # the killed dispatcher's tries are in the history
    survivor.process.send_signal(signal.SIGTERM)
    assert survivor.process.wait(timeout=15) == 0, survivor.log()


@postgres_only
def test_nothing_is_lost_while_the_delivery_service_is_down(start_gunicorn_delivery, start_worker):
    port = free_port()
    total = 200
    worker = start_worker(
        f"http://127.0.0.1:{port}",
        DELIVERY_BACKOFF_BASE_S=0.2,
        DELIVERY_BACKOFF_MAX_S=1,
        DELIVERY_MAX_ATTEMPTS=100,
    )
    insert_notifications(total, users=5)

    def everyone_tried() -> bool:
        with db.engine.connect() as connection:
            tried = connection.execute(
                select(func.count(func.distinct(DeliveryAttempt.notification_id))).where(
                    DeliveryAttempt.http_status.is_(None)
                )
            ).scalar_one()
        return tried == total

    wait_for(everyone_tried, 20, 0.1, "every notification to fail to connect once")
    assert "failed" not in status_counts()

    delivery = start_gunicorn_delivery(port)
    wait_for(lambda: _all_sent(total), 45, 0.25, "every notification to be sent")

    assert delivery.stats() == {"sent": total, "replays": 0, "requests": total}
    worker.process.send_signal(signal.SIGTERM)
    assert worker.process.wait(timeout=15) == 0, worker.log()
