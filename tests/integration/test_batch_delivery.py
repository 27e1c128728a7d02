"""A batch of 10 000 made through the API, delivered by two dispatcher PROCESSES
against the real delivery service: each notification exactly once."""

from __future__ import annotations

import signal

from sqlalchemy import func, select

from notifier.extensions import db
from notifier.notifications.models import DeliveryAttempt, Notification
from tests.conftest import postgres_only
from tests.integration.conftest import status_counts, wait_for

TOTAL = 10_000


@postgres_only
def test_two_dispatchers_deliver_a_10000_recipient_batch_exactly_once(
    api, start_gunicorn_delivery, start_worker
):
    template = api.post(
        "/templates",
        201,
        json={"name": "Hi", "channel": "email", "title": "Hi {{ n }}", "content": "Number {{ n }}"},
    ).get_json()
    recipients = [
        {"target": f"person{i}@example.com", "personalisation": {"n": i}} for i in range(TOTAL)
    ]
    batch = api.post(
        "/batches", 201, json={"template_id": template["id"], "recipients": recipients}
    ).get_json()
    assert batch["total"] == TOTAL

    delivery = start_gunicorn_delivery()
    workers = [start_worker(delivery.url, "--concurrency", "32") for _ in range(2)]
    wait_for(lambda: status_counts() == {"sent": TOTAL}, 90, 0.5, "the batch to be sent")

    assert delivery.stats() == {"sent": TOTAL, "replays": 0, "requests": TOTAL}
    with db.engine.connect() as connection:
        distinct = connection.execute(
            select(func.count(func.distinct(Notification.provider_message_id)))
        ).scalar_one()
        attempts = connection.execute(
            select(DeliveryAttempt.outcome, func.count()).group_by(DeliveryAttempt.outcome)
        ).all()
    assert distinct == TOTAL
    assert dict(attempts) == {"sent": TOTAL}
    body = api.get(f"/batches/{batch['id']}").get_json()
    assert (body["status"], body["counts"]["sent"], body["total"]) == ("done", TOTAL, TOTAL)
    assert body["finished_at"] is not None
    for worker in workers:
        worker.process.send_signal(signal.SIGTERM)
    for worker in workers:
        assert worker.process.wait(timeout=15) == 0, worker.log()
