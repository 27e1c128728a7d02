"""Webhooks end to end: the real dispatcher and delivery service, the real sender, a real
HTTP receiver; every request verified with the official `standardwebhooks` package."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from standardwebhooks.webhooks import Webhook as Verifier

from notifier.database import utcnow
from notifier.extensions import db
from notifier.webhooks.models import WebhookDelivery
from tests.dispatch_steps import dispatch_due
from tests.integration.conftest import wait_for
from tests.integration.webhooks.conftest import drain
from tests.webhook_support import Receiver, Reply, make_webhook

pytestmark = pytest.mark.usefixtures("local_webhooks")


def _deliveries(webhook_id: int | None = None) -> list[WebhookDelivery]:
    db.session.expire_all()
    statement = select(WebhookDelivery).order_by(WebhookDelivery.id)
    if webhook_id is not None:
        statement = statement.where(WebhookDelivery.webhook_id == webhook_id)
    rows = list(db.session.scalars(statement))
    db.session.commit()
    return rows


def _verified(receiver: Receiver, secret: str) -> list[dict]:
    return [Verifier(secret).verify(r.body, r.headers) for r in receiver.received()]


def test_every_event_type_arrives_signed_with_the_notification_as_get_returns_it(
    api, delivery, make_dispatcher, make_sender, receiver
):
    hook = make_webhook(api, url=receiver.url()).get_json()
    sent = api.create(target="ok@example.com").get_json()
    rejected = api.create(target="reject@example.com").get_json()
    flaky = api.create(target="unavailable@example.com").get_json()
    dispatcher = make_dispatcher(
        delivery.url, max_attempts=2, backoff_base_s=0.01, backoff_max_s=0.02
    )
    dispatch_due(dispatcher)
    time.sleep(0.05)
    dispatch_due(dispatcher)  # the flaky one's last attempt: failed
    drain(make_sender())

    events = _verified(receiver, hook["secret"])
    by_type: dict[str, list[int]] = {}
    for event in events:
        by_type.setdefault(event["type"], []).append(event["data"]["id"])
    assert by_type == {
        "notification.sent": [sent["id"]],
        "notification.failed": sorted(
            [rejected["id"], flaky["id"]], key=by_type["notification.failed"].index
        ),
        "notification.retrying": [flaky["id"]],
    }
    sent_event = next(e for e in events if e["type"] == "notification.sent")
    assert sent_event["data"] == api.get(f"/notifications/{sent['id']}").get_json()
    assert sent_event["timestamp"] == sent_event["data"]["updated_at"]
    retrying = next(e for e in events if e["type"] == "notification.retrying")
    assert retrying["data"]["status"] == "pending" and retrying["data"]["attempts"] == 1
    for request in receiver.received():
        assert request.headers["Content-Type"] == "application/json"
    log = api.get(f"/webhooks/{hook['id']}/deliveries").get_json()
    assert len(log) == 4
    assert {(d["status"], d["http_status"], d["attempts"]) for d in log} == {("delivered", 204, 1)}
    assert all(d["delivered_at"] and d["duration_ms"] is not None for d in log)


def test_events_go_only_to_enabled_subscribed_webhooks_of_the_owner(
    api, other_api, delivery, make_dispatcher, make_sender, receiver
):
    failed_only = make_webhook(
        api, url=receiver.url("/failed"), events=["notification.failed"]
    ).get_json()
    disabled = make_webhook(api, url=receiver.url("/off")).get_json()
    api.patch(f"/webhooks/{disabled['id']}", 200, json={"enabled": False})
    make_webhook(other_api, url=receiver.url("/other"))
    api.create(target="ok@example.com")
    rejected = api.create(target="reject@example.com").get_json()
    dispatch_due(make_dispatcher(delivery.url))
    drain(make_sender())
    assert [r.path for r in receiver.received()] == ["/failed"]
    (event,) = _verified(receiver, failed_only["secret"])
    assert event["type"] == "notification.failed" and event["data"]["id"] == rejected["id"]


def test_after_rotation_two_signatures_each_verifies(api, make_sender, receiver):
    hook = make_webhook(api, url=receiver.url()).get_json()
    new = api.post(f"/webhooks/{hook['id']}/rotate-secret", 200).get_json()["secret"]
    api.post(f"/webhooks/{hook['id']}/test", 202)
    drain(make_sender())
    (request,) = receiver.received()
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (new, hook["secret"]):
        assert Verifier(secret).verify(request.body, request.headers)["type"] == "webhook.test"
    db.session.execute(
        update(WebhookDelivery.__table__.metadata.tables["webhooks"]).values(
            previous_secret_expires_at=utcnow() - timedelta(seconds=1)
        )
    )
    db.session.commit()
    api.post(f"/webhooks/{hook['id']}/test", 202)
    drain(make_sender())
    assert len(receiver.received()[-1].headers["webhook-signature"].split(" ")) == 1


def test_retries_keep_the_webhook_id_and_then_deliver(api, make_sender, receiver):
    hook = make_webhook(api, url=receiver.url()).get_json()
    receiver.answer(Reply(503), Reply(500), Reply(408), Reply(429))
    api.post(f"/webhooks/{hook['id']}/test", 202)
    drain(make_sender(max_attempts=5))
    requests = receiver.received()
    assert len(requests) == 5
    assert len({r.headers["webhook-id"] for r in requests}) == 1
    assert len({r.body for r in requests}) == 1
    for request in requests:
        Verifier(hook["secret"]).verify(request.body, request.headers)
    (row,) = _deliveries()
    assert (row.status, row.attempts, row.http_status, row.error) == ("delivered", 5, 204, None)


def test_retries_then_failed(api, make_sender, receiver):
    hook = make_webhook(api, url=receiver.url()).get_json()
    receiver.default = Reply(503, body=b"down for maintenance")
    api.post(f"/webhooks/{hook['id']}/test", 202)
    drain(make_sender(max_attempts=3))
    assert len(receiver.received()) == 3
    (delivery,) = api.get(f"/webhooks/{hook['id']}/deliveries").get_json()
    assert delivery["status"] == "failed" and delivery["attempts"] == 3
    assert delivery["http_status"] == 503
    assert "Gave up after 3 attempts" in delivery["error"]
    assert "down for maintenance" in delivery["error"]


@pytest.mark.parametrize("status", [400, 401, 404, 410, 301, 302, 307])
def test_other_statuses_and_redirects_fail_at_once(api, make_sender, receiver, status):
    hook = make_webhook(api, url=receiver.url()).get_json()
    receiver.default = Reply(status, headers={"Location": receiver.url("/elsewhere")})
    api.post(f"/webhooks/{hook['id']}/test", 202)
    drain(make_sender())
    assert [r.path for r in receiver.received()] == ["/hook"]  # the redirect not followed
    (row,) = _deliveries()
    assert (row.status, row.attempts, row.http_status) == ("failed", 1, status)


def test_retry_after_is_a_floor_above_the_cap(api, make_sender, receiver):
    hook = make_webhook(api, url=receiver.url()).get_json()
    receiver.default = Reply(429, headers={"Retry-After": "120"})
    api.post(f"/webhooks/{hook['id']}/test", 202)
    before = utcnow()
    make_sender(backoff_max_s=1.0).deliver_due()
    (row,) = _deliveries()
    assert row.status == "pending" and row.http_status == 429
    assert row.next_attempt_at >= before + timedelta(seconds=119)


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(mode="garbage"), "HTTP"),
        (Reply(mode="close"), "closed the connection"),
        (Reply(mode="hang"), "No answer within 1 s"),
        (Reply(500, mode="endless"), "500"),
    ],
)
def test_bad_receivers_are_recorded_failed_tries_and_the_sender_goes_on(
    api, make_sender, receiver, reply, error
):
    hook = make_webhook(api, url=receiver.url()).get_json()
    receiver.default = reply
    sender = make_sender(max_attempts=1)
    sender.start()
    started = time.monotonic()
    api.post(f"/webhooks/{hook['id']}/test", 202)
    wait_for(lambda: [d for d in _deliveries() if d.status == "failed"], 20, what="the try")
    assert time.monotonic() - started < 10  # bounded by the timeout, not by the receiver
    (row,) = _deliveries()
    assert row.attempts == 1 and error in row.error
    receiver.default = Reply(204)
    api.post(f"/webhooks/{hook['id']}/test", 202)
    wait_for(
        lambda: [d for d in _deliveries() if d.status == "delivered"], 20, what="the next event"
    )


def test_a_receiver_down_for_a_while_gets_every_event_once_up(api, make_sender):
    receiver = Receiver()
    port = receiver.port
    hook = make_webhook(api, url=receiver.url()).get_json()
    receiver.stop()
    for _ in range(5):
        api.post(f"/webhooks/{hook['id']}/test", 202)
    sender = make_sender(max_attempts=20, backoff_base_s=0.1, backoff_max_s=0.5)
    sender.start()
    # Down for a while: every event has failed four times and is still being retried.
    wait_for(lambda: all(d.attempts >= 4 for d in _deliveries()), timeout=20, what="retries")
    assert {d.error for d in _deliveries()} == {"Could not connect to the receiver."}
    revived = Receiver(port)
    try:
        wait_for(
            lambda: all(d.status == "delivered" for d in _deliveries()),
            timeout=30,
            what="every event delivered",
        )
        ids = {d.event_id for d in _deliveries()}
        assert {r.headers["webhook-id"] for r in revived.received()} == ids
    finally:
        sender.stop()
        sender.join(10)
        revived.stop()


def test_disabling_or_deleting_stops_pending_deliveries(api, make_sender, receiver):
    kept = make_webhook(api, url=receiver.url("/disabled")).get_json()
    gone = make_webhook(api, url=receiver.url("/deleted")).get_json()
    receiver.default = Reply(503)
    for hook in (kept, gone):
        api.post(f"/webhooks/{hook['id']}/test", 202)
    sender = make_sender(max_attempts=8, backoff_base_s=0.2, backoff_max_s=0.2)
    sender.deliver_due()
    assert len(receiver.received()) == 2
    api.patch(f"/webhooks/{kept['id']}", 200, json={"enabled": False})
    api.delete(f"/webhooks/{gone['id']}", 204)
    time.sleep(0.3)
    drain(sender)
    assert len(receiver.received()) == 2
    (row,) = _deliveries()
    assert row.status == "failed" and "disabled" in row.error


def test_a_test_event_for_a_disabled_webhook_fails_untried(api, make_sender, receiver):
    hook = make_webhook(api, url=receiver.url()).get_json()
    api.patch(f"/webhooks/{hook['id']}", 200, json={"enabled": False})
    api.post(f"/webhooks/{hook['id']}/test", 202)
    drain(make_sender())
    (delivery,) = api.get(f"/webhooks/{hook['id']}/deliveries").get_json()
    assert receiver.received() == []
    assert (delivery["status"], delivery["attempts"]) == ("failed", 0)
    assert delivery["next_attempt_at"] <= utcnow().isoformat()


def test_a_name_that_resolves_to_loopback_is_not_called_at_send_time(api, make_sender, receiver):
    # Registered while private networks were allowed; the sender's own check refuses it,
    # as it would refuse a public name whose DNS answer changed to 127.0.0.1.
    urls = [
        f"http://localhost:{receiver.port}/hook",
        f"http://[::ffff:127.0.0.1]:{receiver.port}/hook",
    ]
    for url in urls:
        api.post(f"/webhooks/{make_webhook(api, url=url).get_json()['id']}/test", 202)
    drain(make_sender(allow_private_networks=False, max_attempts=2))
    assert receiver.received() == []
    for row in _deliveries():
        assert row.status == "failed" and row.http_status is None
        assert "loopback" in row.error


def test_the_purge_deletes_finished_deliveries_older_than_the_retention(api, make_sender):
    hook = make_webhook(api).get_json()
    for _ in range(3):
        api.post(f"/webhooks/{hook['id']}/test", 202)
    old, recent, pending_old = (row.id for row in _deliveries())
    table = WebhookDelivery.__table__
    eight_days_ago = utcnow() - timedelta(days=8)
    db.session.execute(
        update(table)
        .where(table.c.id.in_([old, recent]))
        .values(status="delivered", created_at=eight_days_ago)
    )
    db.session.execute(update(table).where(table.c.id == recent).values(created_at=utcnow()))
    db.session.execute(
        update(table).where(table.c.id == pending_old).values(created_at=eight_days_ago)
    )
    db.session.commit()
    assert make_sender().purge_old() == 1
    assert {row.id for row in _deliveries()} == {recent, pending_old}


def test_payload_is_sent_byte_for_byte_as_stored(api, make_sender, receiver):
    hook = make_webhook(api, url=receiver.url()).get_json()
    api.post(f"/webhooks/{hook['id']}/test", 202)
    drain(make_sender())
    (request,) = receiver.received()
    (row,) = _deliveries()
    assert request.body == row.payload.encode()
    assert json.loads(request.body)["data"] == {"webhook_id": hook["id"]}
