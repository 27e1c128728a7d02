"""A dispatcher PROCESS and the delivery service under gunicorn share DELIVERY_API_TOKEN:
with it, notifications are delivered; with a wrong one, nothing is sent and nothing is
lost (the notifications wait, retried, until the setting is fixed)."""

from __future__ import annotations

from sqlalchemy import select

from notifier.extensions import db
from notifier.notifications.models import DeliveryAttempt
from tests.integration.conftest import insert_notifications, status_counts, wait_for


def _attempt_statuses() -> list[int | None]:
    with db.engine.connect() as connection:
        return list(connection.execute(select(DeliveryAttempt.http_status)).scalars())


def test_a_worker_with_the_token_delivers_through_gunicorn(start_gunicorn_delivery, start_worker):
    delivery = start_gunicorn_delivery()
    insert_notifications(5, users=1)

    start_worker(delivery.url)

    wait_for(lambda: status_counts() == {"sent": 5}, 30, what="five notifications sent")
    assert delivery.stats() == {"sent": 5, "replays": 0, "requests": 5}


def test_a_worker_with_a_wrong_token_sends_nothing_and_fails_nothing(
    start_gunicorn_delivery, start_worker
):
    delivery = start_gunicorn_delivery()
    insert_notifications(3, users=1)

    worker = start_worker(
        delivery.url,
        DELIVERY_API_TOKEN="not-the-delivery-services-token-at-all",
        DELIVERY_BACKOFF_BASE_S=0.1,
        DELIVERY_BACKOFF_MAX_S=0.2,
        DELIVERY_MAX_ATTEMPTS=100,
    )

    wait_for(lambda: len(_attempt_statuses()) >= 6, 30, what="refused attempts")
    worker.process.terminate()
    worker.process.wait(timeout=15)
    assert set(_attempt_statuses()) == {401}
    assert status_counts() == {"pending": 3}  # waiting for the fix, not failed
    assert delivery.stats() == {"sent": 0, "replays": 0, "requests": 0}
    assert "DELIVERY_API_TOKEN" in worker.log()
    assert "not-the-delivery-services-token-at-all" not in worker.log()
