"""POST /notifications/<id>/cancel: pending → cancelled, final, and one winner against a claim."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from notifier.database import utcnow
from notifier.extensions import db
from notifier.notifications.lifecycle.claims import claim_due
from notifier.notifications.models import Notification, NotificationCount
from tests.conftest import postgres_only
from tests.factories import NotificationFactory
from tests.locking import answer_after_commit


def _status(nid: int) -> str:
    db.session.expire_all()
    return db.session.get(Notification, nid).status


def _counted(user_id: int) -> dict[str, int]:
    db.session.expire_all()
    rows = db.session.execute(
        select(NotificationCount.status, NotificationCount.total).where(
            NotificationCount.user_id == user_id
        )
    ).all()
    return {status: total for status, total in rows if total}


def test_cancelling_a_pending_notification_answers_it_cancelled(api, user):
    nid = api.create().get_json()["id"]
    body = api.post(f"/notifications/{nid}/cancel", 200).get_json()
    assert (body["id"], body["status"]) == (nid, "cancelled")
    assert _status(nid) == "cancelled"
    assert _counted(user.id) == {"cancelled": 1}


def test_a_cancelled_notification_is_never_claimed(api):
    nid = api.create().get_json()["id"]
    api.post(f"/notifications/{nid}/cancel", 200)
    with db.engine.begin() as connection:
        now = utcnow()
        assert claim_due(connection, 10, now, now + timedelta(seconds=30)) == []
    assert _status(nid) == "cancelled"


@pytest.mark.parametrize("status", ["sending", "sent", "failed"])
def test_cancelling_a_notification_that_is_not_pending_is_409(api, user, status):
    nid = NotificationFactory(user_id=user.id, status=status).id
    response = api.post(f"/notifications/{nid}/cancel", 409)
    assert status in response.get_json()["message"]
    assert _status(nid) == status


def test_cancelling_twice_is_409_the_second_time(api):
    nid = api.create().get_json()["id"]
    api.post(f"/notifications/{nid}/cancel", 200)
    assert "cancelled" in api.post(f"/notifications/{nid}/cancel", 409).get_json()["message"]


def test_a_cancelled_notification_cannot_be_edited_but_can_be_deleted(api):
    nid = api.create().get_json()["id"]
    api.post(f"/notifications/{nid}/cancel", 200)
    api.patch(f"/notifications/{nid}", 409, json={"title": "Again"})
    full = {"title": "T", "content": "C", "channel": "email", "target": "b@example.com"}
    api.put(f"/notifications/{nid}", 409, json=full)
    assert _status(nid) == "cancelled"
    api.delete(f"/notifications/{nid}", 204)
    api.get(f"/notifications/{nid}", 404)


def test_another_users_notification_cannot_be_cancelled(api, other_api):
    nid = api.create().get_json()["id"]
    assert other_api.post(f"/notifications/{nid}/cancel", 404).get_json()["message"] == (
        "Notification not found."
    )
    assert _status(nid) == "pending"


def test_the_list_filters_by_cancelled(api):
    kept = api.create().get_json()["id"]
    gone = api.create().get_json()["id"]
    api.post(f"/notifications/{gone}/cancel", 200)
    response = api.get("/notifications?status=cancelled")
    assert [item["id"] for item in response.get_json()] == [gone]
    assert '"total": 1' in response.headers["X-Pagination"]
    assert [item["id"] for item in api.get("/notifications?status=pending").get_json()] == [kept]


def test_a_claim_before_the_cancel_wins_and_the_cancel_is_409(api):
    """The sequence both databases can show: the claim commits first."""
    nid = api.create().get_json()["id"]
    with db.engine.begin() as connection:
        now = utcnow()
        assert [r.id for r in claim_due(connection, 10, now, now + timedelta(seconds=30))] == [nid]
    assert "sending" in api.post(f"/notifications/{nid}/cancel", 409).get_json()["message"]
    assert _status(nid) == "sending"


def test_a_claim_that_read_the_row_before_the_cancel_committed_loses(api, monkeypatch):
    """The cancel read the row while pending; a claim commits before its
    compare-and-set: the cancel matches nothing and answers 409."""
    from notifier.notifications import queries

    nid = api.create().get_json()["id"]
    real = queries.owned_row
    calls = []

    def read_then_claim(notification_id):
        row = real(notification_id)
        if not calls:
            calls.append(1)
            with db.engine.begin() as connection:
                now = utcnow()
                claim_due(connection, 10, now, now + timedelta(seconds=30))
        return row

    monkeypatch.setattr(queries, "owned_row", read_then_claim)
    assert api.post(f"/notifications/{nid}/cancel", 409).status_code == 409
    assert _status(nid) == "sending"


@postgres_only
def test_a_cancel_racing_an_open_claim_waits_for_it_and_loses(api):
    """Two connections: the claim's transaction holds the row lock; the cancel's
    compare-and-set waits, re-checks the row and answers 409."""
    nid = api.create().get_json()["id"]
    now = utcnow()
    with db.engine.connect() as connection:
        transaction = connection.begin()
        assert [r.id for r in claim_due(connection, 10, now, now + timedelta(seconds=30))] == [nid]
        answer = answer_after_commit(
            transaction,
            lambda: api.post(f"/notifications/{nid}/cancel").status_code,
            "the claim's row lock",
        )
    assert answer == 409
    assert _status(nid) == "sending"


@postgres_only
def test_a_claim_racing_an_open_cancel_skips_the_row(api):
    """The cancel holds the row lock (its transaction not yet committed): the
    claim steps over it, and once the cancel commits nothing claims it."""
    nid = api.create().get_json()["id"]
    now = utcnow()
    with db.engine.connect() as canceller:
        transaction = canceller.begin()
        canceller.execute(
            Notification.__table__.update()
            .where(Notification.id == nid, Notification.status == "pending")
            .values(status="cancelled", version=Notification.version + 1)
        )
        with db.engine.begin() as claimer:
            assert claim_due(claimer, 10, now, now + timedelta(seconds=30)) == []
        transaction.commit()
    with db.engine.begin() as claimer:
        assert claim_due(claimer, 10, now, now + timedelta(seconds=30)) == []
    assert _status(nid) == "cancelled"
