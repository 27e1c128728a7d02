"""The dispatcher against the REAL delivery service (werkzeug in a thread): created
through the API, delivered, rejected, retried, and repeated after a crash."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from bench.processes import free_port
from notifier.database import utcnow
from notifier.extensions import db
from notifier.notifications.models import Notification
from tests.integration.conftest import insert_notifications, status_counts, wait_for


def _get(api, nid: int) -> dict:
    return api.get(f"/notifications/{nid}").get_json()


def test_a_created_notification_is_sent_with_the_providers_message_id(
    api, delivery, make_dispatcher
):
    nid = api.create(target="carol@example.com").get_json()["id"]

    make_dispatcher(delivery.url).run(once=True)

    body = _get(api, nid)
    assert body["status"] == "sent"
    assert body["provider_message_id"].startswith("sim-")
    assert body["attempts"] == 1
    assert body["sent_at"] >= body["created_at"]
    [attempt] = api.get(f"/notifications/{nid}/attempts").get_json()
    assert attempt["outcome"] == "sent"
    assert attempt["http_status"] == 200
    assert attempt["provider_message_id"] == body["provider_message_id"]
    assert delivery.stats() == {"sent": 1, "replays": 0, "requests": 1}


def test_every_channel_is_delivered(api, delivery, make_dispatcher):
    ids = [
        api.create(channel="sms", target="+14155552671", content="Code 1234").get_json()["id"],
        api.create(channel="push", target="device-token_" + "a1B2:c3.d4-" * 4).get_json()["id"],
        api.create(channel="email", target="dave@example.com").get_json()["id"],
    ]
    make_dispatcher(delivery.url).run(once=True)
    assert {_get(api, nid)["status"] for nid in ids} == {"sent"}


def test_a_rejected_target_fails_with_the_providers_reason(api, delivery, make_dispatcher):
    nid = api.create(target="reject@example.com").get_json()["id"]
    sms = api.create(channel="sms", target="+15005550001", content="x").get_json()["id"]

    make_dispatcher(delivery.url).run(once=True)

    for notification_id in (nid, sms):
        body = _get(api, notification_id)
        assert body["status"] == "failed"
        assert body["error_message"] == (
            "The provider rejected the target (simulated permanent rejection)."
        )
        assert body["attempts"] == 1
        [attempt] = api.get(f"/notifications/{notification_id}/attempts").get_json()
        assert (attempt["outcome"], attempt["http_status"]) == ("rejected", 422)


def test_an_unavailable_provider_is_retried_then_given_up(
    api, delivery, make_dispatcher, run_in_background
):
    nid = api.create(target="unavailable@example.com").get_json()["id"]
    good = api.create(target="erin@example.com").get_json()["id"]
    # The simulator's Retry-After (1 s) is capped by the tiny maximum backoff.
    dispatcher = make_dispatcher(
        delivery.url, max_attempts=3, backoff_base_s=0.01, backoff_max_s=0.05
    )
    run_in_background(dispatcher)

    wait_for(lambda: _get(api, nid)["status"] == "failed", 10, what="it to fail")

    body = _get(api, nid)
    assert body["attempts"] == 3
    assert body["error_message"].startswith("Delivery failed after 3 attempts")
    attempts = api.get(f"/notifications/{nid}/attempts").get_json()
    assert [(a["number"], a["outcome"], a["http_status"]) for a in attempts] == [
        (1, "unavailable", 503),
        (2, "unavailable", 503),
        (3, "unavailable", 503),
    ]
    assert _get(api, good)["status"] == "sent"


def test_editing_a_failed_notification_sends_the_fix(api, delivery, make_dispatcher):
    nid = api.create(target="reject@example.com").get_json()["id"]
    dispatcher = make_dispatcher(delivery.url)
    dispatcher.run(once=True)
    assert _get(api, nid)["status"] == "failed"

    api.patch(f"/notifications/{nid}", 200, json={"target": "fixed@example.com"})
    make_dispatcher(delivery.url).run(once=True)

    body = _get(api, nid)
    assert (body["status"], body["attempts"], body["error_message"]) == ("sent", 1, None)
    numbers = [a["number"] for a in api.get(f"/notifications/{nid}/attempts").get_json()]
    assert numbers == [1, 2]
    # The edit gave it a new idempotency key: the provider saw two different messages.
    assert delivery.stats()["replays"] == 0


def test_a_notification_created_while_the_dispatcher_idles_is_sent_promptly(
    api, delivery, make_dispatcher, run_in_background
):
    run_in_background(make_dispatcher(delivery.url, poll_interval_s=0.5))
    nid = api.create().get_json()["id"]
    wait_for(lambda: _get(api, nid)["status"] == "sent", 5, what="it to be sent")


def test_a_repeat_after_a_crash_reuses_the_key_and_the_provider_sends_once(
    delivery, make_dispatcher
):
    """The first dispatcher sends and dies before recording: after the lease the next
    one sends again with the same key, and the provider answers its first result."""
    [nid] = insert_notifications(1, users=1)
    crashed = make_dispatcher(delivery.url)
    [claim] = crashed.queue.claim(1)
    first = crashed.send(claim)  # ... and the process dies here
    assert first.outcome == "sent"
    with db.engine.begin() as connection:
        connection.execute(
            update(Notification)
            .where(Notification.id == nid)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )

    make_dispatcher(delivery.url).run(once=True)

    row = db.session.get(Notification, nid)
    db.session.refresh(row)
    assert row.status == "sent"
    assert row.provider_message_id == first.provider_message_id
    assert delivery.stats() == {"sent": 1, "replays": 1, "requests": 2}


def test_a_batch_is_sent_concurrently(delivery, start_delivery_thread, make_dispatcher):
    slow = start_delivery_thread(DELIVERY_LATENCY_MS=200)
    insert_notifications(40)
    dispatcher = make_dispatcher(slow.url, concurrency=20, batch_size=20)
    started = utcnow()
    dispatcher.run(once=True)
    elapsed = (utcnow() - started).total_seconds()
    assert status_counts() == {"sent": 40}
    assert elapsed < 2.5  # 40 x 200 ms one by one would be 8 s
    assert slow.stats() == {"sent": 40, "replays": 0, "requests": 40}


def test_a_test_keys_notification_goes_to_the_simulator_whatever_provider_is_set(
    api, start_delivery_thread, make_dispatcher
):
    """Email goes through SMTP, to a server that is down; a test key's notification
    is still sent (by the simulator), while the token's one waits for the server."""
    delivery = start_delivery_thread(
        EMAIL_PROVIDER="smtp",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(free_port()),
        SMTP_SECURITY="none",
        SMTP_TIMEOUT_S=1,
        EMAIL_FROM="Notifier <no-reply@example.com>",
    )
    key = api.post("/api-keys", 201, json={"name": "CI", "mode": "test"}).get_json()["key"]
    headers = {"Authorization": f"Bearer {key}"}
    body = {"title": "Hi", "content": "Hello", "channel": "email", "target": "eve@example.com"}
    sandboxed = api.client.post("/notifications", json=body, headers=headers).get_json()
    live = api.create(target="eve@example.com").get_json()
    assert (sandboxed["sandbox"], live["sandbox"]) == (True, False)

    make_dispatcher(delivery.url).run(once=True)

    sent = _get(api, sandboxed["id"])
    assert sent["status"] == "sent"
    assert sent["provider_message_id"].startswith("sim-")
    waiting = _get(api, live["id"])
    assert waiting["status"] == "pending"
    [attempt] = api.get(f"/notifications/{live['id']}/attempts").get_json()
    assert (attempt["outcome"], attempt["http_status"]) == ("unavailable", 503)
