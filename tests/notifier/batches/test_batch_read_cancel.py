"""GET /batches, GET /batches/<id>, POST /batches/<id>/cancel; keys, scopes and owners."""

from __future__ import annotations

from datetime import timedelta

import pytest

from notifier.database import utcnow
from notifier.extensions import db
from notifier.notifications.lifecycle.claims import claim_due
from tests.notifier.batches.conftest import counted, notifications_of, recipients, send_batch


def _claim(limit: int) -> list[int]:
    now = utcnow()
    with db.engine.begin() as connection:
        return [row.id for row in claim_due(connection, limit, now, now + timedelta(seconds=30))]


def _set_status(ids: list[int], status: str) -> None:
    from notifier.notifications.models import Notification

    with db.engine.begin() as connection:
        connection.execute(
            Notification.__table__.update()
            .where(Notification.id.in_(ids))
            .values(status=status, updated_at=utcnow())
        )


def _sums_to_total(body: dict) -> bool:
    return sum(body["counts"].values()) == body["total"]


def test_the_counts_follow_the_notifications_and_always_sum_to_the_total(api, template):
    batch = send_batch(api, template["id"], recipients=recipients(5)).get_json()
    claimed = _claim(3)
    body = api.get(f"/batches/{batch['id']}").get_json()
    assert (body["counts"]["pending"], body["counts"]["sending"]) == (2, 3)
    assert (body["status"], body["finished_at"]) == ("in_progress", None)
    assert _sums_to_total(body)

    _set_status(claimed[:2], "sent")
    _set_status(claimed[2:], "failed")
    api.post(f"/batches/{batch['id']}/cancel", 200)
    body = api.get(f"/batches/{batch['id']}").get_json()
    assert body["counts"] == {
        "pending": 0,
        "sending": 0,
        "sent": 2,
        "failed": 1,
        "cancelled": 2,
        "delivered": 0,
    }
    assert _sums_to_total(body)
    assert body["status"] == "cancelled"
    assert body["finished_at"] is not None


def test_a_batch_is_done_when_nothing_is_pending_or_sending(api, template):
    batch = send_batch(api, template["id"], recipients=recipients(2)).get_json()
    _set_status(_claim(2), "sent")
    body = api.get(f"/batches/{batch['id']}").get_json()
    assert (body["status"], body["counts"]["sent"]) == ("done", 2)
    assert body["finished_at"] >= body["created_at"]


def test_cancel_cancels_the_pending_ones_and_lets_the_ones_being_sent_finish(api, user, template):
    batch = send_batch(api, template["id"], recipients=recipients(4)).get_json()
    [sending] = _claim(1)
    body = api.post(f"/batches/{batch['id']}/cancel", 200).get_json()
    assert body["status"] == "cancelled"
    assert (body["counts"]["cancelled"], body["counts"]["sending"]) == (3, 1)
    assert body["finished_at"] is None
    assert {r.id: r.status for r in notifications_of(batch["id"])}[sending] == "sending"
    assert _claim(10) == []
    assert counted(user.id) == {"cancelled": 3, "sending": 1}


def test_cancelling_again_is_200_and_changes_nothing(api, template):
    batch = send_batch(api, template["id"], recipients=recipients(2)).get_json()
    first = api.post(f"/batches/{batch['id']}/cancel", 200).get_json()
    before = [(r.status, r.version, r.updated_at) for r in notifications_of(batch["id"])]
    assert api.post(f"/batches/{batch['id']}/cancel", 200).get_json() == first
    assert [(r.status, r.version, r.updated_at) for r in notifications_of(batch["id"])] == before


def test_cancelling_a_batch_leaves_the_other_batches_alone(api, template):
    kept = send_batch(api, template["id"], recipients=recipients(2)).get_json()
    gone = send_batch(api, template["id"], recipients=recipients(2)).get_json()
    api.post(f"/batches/{gone['id']}/cancel", 200)
    assert {r.status for r in notifications_of(kept["id"])} == {"pending"}


def test_the_list_is_newest_first_and_paginated(api, template):
    ids = [
        send_batch(api, template["id"], recipients=recipients(1)).get_json()["id"] for _ in range(3)
    ]
    response = api.get("/batches?page_size=2")
    assert [b["id"] for b in response.get_json()] == ids[::-1][:2]
    assert '"total": 3' in response.headers["X-Pagination"]
    assert [b["id"] for b in api.get("/batches?page=2&page_size=2").get_json()] == ids[:1]
    api.get("/batches?page_size=101", 422)
    api.get("/batches?page=1000001", 422)


@pytest.mark.parametrize(("method", "suffix"), [("GET", ""), ("POST", "/cancel")])
def test_another_users_batch_is_404(api, other_api, template, method, suffix):
    batch = send_batch(api, template["id"], recipients=recipients(1)).get_json()
    response = other_api.request(method, f"/batches/{batch['id']}{suffix}")
    assert (response.status_code, response.get_json()["message"]) == (404, "Batch not found.")
    assert other_api.get("/batches").get_json() == []
    assert {r.status for r in notifications_of(batch["id"])} == {"pending"}


def test_a_batch_that_does_not_exist_is_404(api):
    api.get("/batches/999999", 404)
    api.post("/batches/999999/cancel", 404)


def test_routes_need_a_credential(client):
    assert client.get("/batches").status_code == 401
    assert client.post("/batches", json={}).status_code == 401
    assert client.post("/batches/1/cancel").status_code == 401


@pytest.mark.parametrize(
    ("scopes", "method", "path", "allowed"),
    [
        (["notifications:send"], "POST", "/batches", True),
        (["notifications:read"], "POST", "/batches", False),
        (["notifications:read"], "GET", "/batches", True),
        (["notifications:send"], "GET", "/batches", False),
        (["notifications:write"], "POST", "/batches/{id}/cancel", True),
        (["notifications:read"], "POST", "/batches/{id}/cancel", False),
    ],
)
def test_keys_need_the_right_scope(api, make_key, template, scopes, method, path, allowed):
    batch = send_batch(api, template["id"], recipients=recipients(1)).get_json()
    client, _ = make_key(scopes=scopes)
    body = {"template_id": template["id"], "recipients": recipients(1)}
    response = client.request(method, path.format(id=batch["id"]), json=body)
    assert (response.status_code != 403) is allowed, response.get_json()


def test_a_test_keys_batch_is_all_sandbox_and_it_sees_only_sandbox_batches(api, make_key, template):
    live = send_batch(api, template["id"], recipients=recipients(1)).get_json()
    tester, _ = make_key(mode="test")
    batch = send_batch(tester, template["id"], recipients=recipients(3)).get_json()
    assert batch["sandbox"] is True
    assert {r.sandbox for r in notifications_of(batch["id"])} == {True}
    assert [b["id"] for b in tester.get("/batches").get_json()] == [batch["id"]]
    tester.get(f"/batches/{live['id']}", 404)
    tester.post(f"/batches/{live['id']}/cancel", 404)
    assert {b["id"] for b in api.get("/batches").get_json()} == {live["id"], batch["id"]}


def test_a_test_key_cannot_cancel_a_live_notification(api, make_key):
    nid = api.create().get_json()["id"]
    tester, _ = make_key(mode="test")
    tester.post(f"/notifications/{nid}/cancel", 404)
    sandboxed = tester.create().get_json()["id"]
    assert tester.post(f"/notifications/{sandboxed}/cancel", 200).get_json()["sandbox"] is True
