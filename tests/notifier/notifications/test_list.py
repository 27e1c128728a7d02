"""GET /notifications: own rows only, newest first, filters and pagination."""

import json
from datetime import timedelta

import pytest

from notifier.database import utcnow
from tests.factories import NotificationFactory


def _pagination(response) -> dict:
    return json.loads(response.headers["X-Pagination"])


def test_list_is_newest_first_with_ties_by_higher_id(api, user):
    now = utcnow()
    old = NotificationFactory(user_id=user.id, created_at=now - timedelta(hours=1))
    tie_a = NotificationFactory(user_id=user.id, created_at=now)
    tie_b = NotificationFactory(user_id=user.id, created_at=now)
    ids = [n["id"] for n in api.get("/notifications").get_json()]
    assert ids == [tie_b.id, tie_a.id, old.id]


def test_list_shows_only_own_notifications(api, other_api, user):
    NotificationFactory(user_id=user.id)
    other_api.create()
    body = api.get("/notifications").get_json()
    assert len(body) == 1
    assert body[0]["user_id"] == user.id


def test_pagination_header_and_default_page_size(api, user):
    NotificationFactory.create_batch(45, user_id=user.id)
    response = api.get("/notifications")
    assert len(response.get_json()) == 20
    assert _pagination(response) == {
        "total": 45,
        "total_pages": 3,
        "first_page": 1,
        "last_page": 3,
        "page": 1,
        "next_page": 2,
    }
    last = api.get("/notifications?page=3")
    assert len(last.get_json()) == 5
    assert _pagination(last)["previous_page"] == 2


def test_pages_do_not_overlap(api, user):
    NotificationFactory.create_batch(7, user_id=user.id)
    seen = []
    for page in (1, 2, 3):
        seen += [n["id"] for n in api.get(f"/notifications?page={page}&page_size=3").get_json()]
    assert len(seen) == len(set(seen)) == 7


def test_page_past_the_end_is_an_empty_list(api, user):
    NotificationFactory(user_id=user.id)
    assert api.get("/notifications?page=5").get_json() == []
    assert api.get("/notifications?page=1000000").get_json() == []


def test_empty_list_has_zero_total(api):
    response = api.get("/notifications")
    assert response.get_json() == []
    assert _pagination(response) == {"total": 0, "total_pages": 0}


@pytest.mark.parametrize(
    "query",
    ["page_size=101", "page_size=0", "page=0", "page=-1", "page=abc", "status=done", "channel=fax"],
)
def test_invalid_query_parameters_are_422(api, query):
    body = api.get(f"/notifications?{query}", expect=422).get_json()
    assert body["errors"]["query"]


def test_page_size_100_is_allowed(api, user):
    NotificationFactory.create_batch(101, user_id=user.id)
    assert len(api.get("/notifications?page_size=100").get_json()) == 100


def test_filters_by_status_and_channel(api, user):
    NotificationFactory(user_id=user.id, status="sent", channel="email")
    NotificationFactory(user_id=user.id, status="pending", channel="sms", target="+14155552671")
    NotificationFactory(user_id=user.id, status="failed", channel="email")
    sent = api.get("/notifications?status=sent")
    assert [n["status"] for n in sent.get_json()] == ["sent"]
    assert _pagination(sent)["total"] == 1
    sms = api.get("/notifications?channel=sms").get_json()
    assert [n["channel"] for n in sms] == ["sms"]
    both = api.get("/notifications?channel=email&status=failed").get_json()
    assert [(n["channel"], n["status"]) for n in both] == [("email", "failed")]


def _real_count(user_id, **where) -> int:
    from notifier.extensions import db
    from notifier.notifications.models import Notification

    return db.session.query(Notification).filter_by(user_id=user_id, **where).count()


def test_totals_follow_inserts_status_changes_and_deletes(api, user):
    """The counters behind X-Pagination are kept by triggers: they must agree
    with a real count after every kind of write."""
    from notifier.extensions import db
    from notifier.notifications.models import Notification

    created = [api.create().get_json()["id"] for _ in range(3)]
    NotificationFactory.create_batch(4, user_id=user.id, channel="sms", target="+14155552671")
    db.session.execute(
        db.update(Notification).where(Notification.id.in_(created[:2])).values(status="sent")
    )
    db.session.commit()
    api.delete(f"/notifications/{created[2]}", 204)
    api.patch(f"/notifications/{created[0]}", 409, json={"title": "no"})

    for query, where in [
        ("", {}),
        ("?status=sent", {"status": "sent"}),
        ("?status=pending", {"status": "pending"}),
        ("?channel=sms", {"channel": "sms"}),
        ("?channel=email&status=sent", {"channel": "email", "status": "sent"}),
    ]:
        expected = _real_count(user.id, **where)
        assert _pagination(api.get(f"/notifications{query}"))["total"] == expected, query
    assert _pagination(api.get("/notifications"))["total"] == 6


def test_list_items_are_the_same_as_single_reads(api):
    created = api.create(scheduled_at="2030-01-01T00:00:00+00:00").get_json()
    listed = api.get("/notifications").get_json()
    assert listed == [api.get(f"/notifications/{created['id']}").get_json()]
    assert listed[0]["created_at"].endswith("+00:00")
