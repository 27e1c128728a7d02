"""The hot routes build bodies without marshmallow; they must equal the schema's dump."""

from datetime import UTC, datetime, timedelta

import pytest

from notifier.extensions import db
from notifier.notifications.models import Notification
from notifier.notifications.schemas import NotificationSchema, notification_body
from tests.factories import NotificationFactory

AT = datetime(2026, 11, 24, 10, 15, 30, 123456, tzinfo=UTC)

STATES = {
    "pending": {"status": "pending"},
    "scheduled": {"status": "pending", "scheduled_at": AT + timedelta(days=3)},
    "sent": {"status": "sent", "attempts": 1, "sent_at": AT, "provider_message_id": "pm-1"},
    "failed": {"status": "failed", "attempts": 5, "error_message": "Mailbox full"},
    "unicode": {"title": "Ünïcødé 🚀", "content": 'quotes " and \\ and \u2028'},
}


@pytest.fixture(params=sorted(STATES))
def notification(request, user):
    return NotificationFactory(
        user_id=user.id, created_at=AT, updated_at=AT, **STATES[request.param]
    )


def test_body_of_a_row_equals_the_schema_dump(notification):
    row = (
        db.session.execute(
            db.select(Notification.__table__).where(Notification.id == notification.id)
        )
        .mappings()
        .one()
    )
    assert notification_body(row) == NotificationSchema().dump(notification)


def test_get_list_and_schema_answer_the_same_body(api, notification, user):
    expected = NotificationSchema().dump(db.session.get(Notification, notification.id))
    single = api.get(f"/notifications/{notification.id}").get_json()
    listed = api.get("/notifications").get_json()
    assert single == expected
    assert listed == [expected]
    assert expected["created_at"] == "2026-11-24T10:15:30.123456+00:00"


def test_a_created_notification_answers_the_body_it_reads_back(api):
    created = api.create(scheduled_at="2030-01-02T03:04:05+02:00").get_json()
    assert created["scheduled_at"] == "2030-01-02T01:04:05+00:00"
    assert api.get(f"/notifications/{created['id']}").get_json() == created
