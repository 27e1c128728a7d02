"""The console's overview and activity pages: the signed-in user's own notifications only,
filtered and paged like the API; another user's id is 404; hostile text shows as text.
"""

from __future__ import annotations

import re

import pytest

from notifier.console.views.notifications import PAGE_SIZE
from notifier.extensions import db
from notifier.webhooks import outbox
from tests.console.support import HOSTILE, add_webhook
from tests.factories import DeliveryAttemptFactory, NotificationFactory

# --- overview and activity ----------------------------------------------------------------


def test_the_overview_counts_the_last_day_by_status_and_draws_them(signed_in, user, stranger):
    for status in ("sent", "sent", "failed"):
        NotificationFactory(user_id=user.id, status=status)
    NotificationFactory(user_id=stranger.id, status="failed")
    page = signed_in.get("/console").get_data(as_text=True)
    assert re.search(r"status=sent\">2<", page)
    assert re.search(r"status=failed\">1<", page)
    assert page.count('class="s-sent"') == 1  # one bar segment for the hour
    assert "<svg" in page
    assert "<script" not in page


def test_the_overview_shows_the_age_of_the_oldest_due_notification(signed_in, user):
    from datetime import timedelta

    from notifier.database import utcnow

    NotificationFactory(user_id=user.id, next_attempt_at=utcnow() - timedelta(seconds=90))
    page = signed_in.get("/console").get_data(as_text=True)
    assert re.search(r"<strong>(9\d|1\d\d) s</strong>", page)


def test_the_activity_list_is_newest_first_and_only_mine(signed_in, user, stranger):
    older = NotificationFactory(user_id=user.id, title="Older one")
    newer = NotificationFactory(user_id=user.id, title="Newer one")
    NotificationFactory(user_id=stranger.id, title="Not mine")
    page = signed_in.get("/console/notifications").get_data(as_text=True)
    assert page.index(f"#{newer.id}<") < page.index(f"#{older.id}<")
    assert "Not mine" not in page


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("status=failed", "Failed one", "Sent one"),
        ("channel=sms", "Sent one", "Failed one"),
        ("reference=order-7", "Failed one", "Sent one"),
    ],
)
def test_the_activity_list_takes_the_api_filters(signed_in, user, query, shown, hidden):
    NotificationFactory(user_id=user.id, title="Failed one", status="failed", reference="order-7")
    NotificationFactory(
        user_id=user.id, title="Sent one", status="sent", channel="sms", target="+14155552671"
    )
    page = signed_in.get(f"/console/notifications?{query}").get_data(as_text=True)
    assert shown in page
    assert hidden not in page


def test_an_unknown_filter_value_shows_the_api_message_by_its_field(signed_in):
    response = signed_in.get("/console/notifications?status=lost")
    assert response.status_code == 422
    assert re.search(r'id="status-error">Must be one of', response.get_data(as_text=True))


def test_the_activity_list_is_paged(signed_in, user):
    for _ in range(PAGE_SIZE + 1):
        NotificationFactory(user_id=user.id)
    first = signed_in.get("/console/notifications").get_data(as_text=True)
    assert "Page 1 of 2" in first
    second = signed_in.get("/console/notifications?page=2").get_data(as_text=True)
    assert second.count('href="/console/notifications/') == 1


def test_a_hostile_title_shows_as_text(signed_in, user):
    note = NotificationFactory(user_id=user.id, title=HOSTILE, content=HOSTILE)
    for path in ("/console/notifications", f"/console/notifications/{note.id}"):
        page = signed_in.get(path).get_data(as_text=True)
        assert HOSTILE not in page
        assert "&lt;script&gt;" in page


def test_a_failed_notification_says_why_in_its_timeline(signed_in, user):
    note = NotificationFactory(
        user_id=user.id, status="failed", attempts=2, error_message="Mailbox does not exist"
    )
    DeliveryAttemptFactory(
        notification_id=note.id,
        number=1,
        outcome="unavailable",
        http_status=503,
        error="Provider unavailable",
        duration_ms=31,
    )
    DeliveryAttemptFactory(
        notification_id=note.id,
        number=2,
        outcome="rejected",
        http_status=422,
        error="Mailbox does not exist",
        duration_ms=12,
    )
    hook = add_webhook(user.id)
    with db.engine.begin() as connection:
        body = {"id": note.id, "user_id": user.id, "updated_at": "2026-01-01T00:00:00+00:00"}
        outbox.enqueue_events(connection, [("notification.failed", body)])
    page = signed_in.get(f"/console/notifications/{note.id}").get_data(as_text=True)
    assert "Why it failed" in page
    timeline = page[page.index('class="timeline"') :]
    assert timeline.index("Created") < timeline.index("Attempt 1") < timeline.index("Attempt 2")
    assert "HTTP 503" in timeline and "31 ms" in timeline and "Provider unavailable" in timeline
    assert "HTTP 422" in timeline and "Mailbox does not exist" in timeline
    assert f"Webhook notification.failed</strong> to {hook.url}" in timeline


def test_another_users_notification_is_404(signed_in, stranger):
    note = NotificationFactory(user_id=stranger.id)
    assert signed_in.get(f"/console/notifications/{note.id}").status_code == 404
    assert signed_in.get("/console/notifications/999999").status_code == 404


def test_the_activity_filter_offers_every_channel_and_status(signed_in):
    from notifier.channels import CHANNELS
    from notifier.notifications.lifecycle import Status

    page = signed_in.get("/console/notifications").get_data(as_text=True)
    for value in (*CHANNELS, *Status):
        assert f"<option>{value}</option>" in page
