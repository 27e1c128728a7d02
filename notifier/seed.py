"""Demo data for `flask --app wsgi seed`: a user and notifications in every
channel and status, so that /docs shows something real at once.

Running it again adds no rows: they are found by the demo user's email and the
notifications' titles. The demo test API key is the exception: only its hash is
stored, so each run replaces it with a new one, to print it.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import delete, select

from notifier.api_keys import service as api_key_service
from notifier.api_keys.models import ApiKey
from notifier.auth.passwords import hash_password
from notifier.database import transaction, utcnow
from notifier.extensions import db
from notifier.notifications.lifecycle import Outcome, Status
from notifier.notifications.models import DeliveryAttempt, Notification
from notifier.users.models import User

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password"  # noqa: S105 (published demo credentials)

DEMO_KEY_NAME = "Demo test key (flask seed)"
PUSH_TOKEN = "demo-device-token:" + "a1b2c3d4" * 4


def _examples(now) -> list[dict]:
    later = now + timedelta(days=1)
    return [
        {"title": "Welcome aboard", "channel": "email", "target": "ada@example.com",
         "status": Status.SENT, "attempts": 1},
        {"title": "Your code is 482913", "channel": "sms", "target": "+14155552671",
         "status": Status.SENT, "attempts": 1},
        {"title": "New follower", "channel": "push", "target": PUSH_TOKEN,
         "status": Status.SENT, "attempts": 1},
        {"title": "Weekly digest", "channel": "email", "target": "ada@example.com",
         "status": Status.PENDING, "scheduled_at": later},
        {"title": "Appointment reminder", "channel": "sms", "target": "+447911123456",
         "status": Status.PENDING, "scheduled_at": later},
        {"title": "Flash sale starts", "channel": "push", "target": PUSH_TOKEN,
         "status": Status.PENDING, "scheduled_at": later},
        {"title": "Invoice ready", "channel": "email", "target": "reject@example.com",
         "status": Status.FAILED, "attempts": 1, "error": "The provider rejected the address."},
        {"title": "Delivery window", "channel": "sms", "target": "+15005550001",
         "status": Status.FAILED, "attempts": 1, "error": "The provider rejected the number."},
        {"title": "Password changed", "channel": "push", "target": "reject-" + PUSH_TOKEN,
         "status": Status.FAILED, "attempts": 1, "error": "The device token is unregistered."},
        {"title": "Order shipped", "channel": "email", "target": "ada@example.com",
         "status": Status.SENDING, "attempts": 1},
    ]  # fmt: skip


def seed() -> tuple[User, int]:
    """Create what is missing; return the demo user and how many rows were added."""
    now = utcnow()
    added = 0
    with transaction():
        user = db.session.execute(select(User).where(User.email == DEMO_EMAIL)).scalar_one_or_none()
        if user is None:
            user = User(
                name="Demo User", email=DEMO_EMAIL, password_hash=hash_password(DEMO_PASSWORD)
            )
            db.session.add(user)
            db.session.flush()
        existing = set(
            db.session.execute(select(Notification.title).where(Notification.user_id == user.id))
            .scalars()
            .all()
        )
        for example in _examples(now):
            if example["title"] in existing:
                continue
            db.session.add_all(_rows(user.id, example, now))
            added += 1
    return user, added


def seed_test_key(user_id: int) -> str:
    """A new test (sandbox) API key for the demo user, replacing the previous one."""
    with transaction():
        db.session.execute(
            delete(ApiKey).where(ApiKey.user_id == user_id, ApiKey.name == DEMO_KEY_NAME)
        )
    return api_key_service.create_key(user_id, DEMO_KEY_NAME, mode="test")["key"]


def _rows(user_id: int, example: dict, now) -> list:
    status: Status = example["status"]
    notification = Notification(
        user_id=user_id,
        title=example["title"],
        content=f"{example['title']} — sent by the notifier demo seed.",
        channel=example["channel"],
        target=example["target"],
        status=status,
        attempts=example.get("attempts", 0),
        scheduled_at=example.get("scheduled_at"),
        next_attempt_at=example.get("scheduled_at") or now,
        lease_expires_at=now + timedelta(seconds=60) if status == Status.SENDING else None,
        delivery_key=uuid.uuid4().hex,
        version=1,
        sent_at=now if status == Status.SENT else None,
        provider_message_id=f"demo-{uuid.uuid4().hex[:12]}" if status == Status.SENT else None,
        error_message=example.get("error"),
        created_at=now,
        updated_at=now,
    )
    db.session.add(notification)
    db.session.flush()
    if status not in (Status.SENT, Status.FAILED):
        return [notification]
    attempt = DeliveryAttempt(
        notification_id=notification.id,
        number=1,
        started_at=now,
        finished_at=now,
        outcome=Outcome.SENT if status == Status.SENT else Outcome.REJECTED,
        http_status=200 if status == Status.SENT else 422,
        error=example.get("error"),
        provider_message_id=notification.provider_message_id,
        duration_ms=42,
    )
    return [notification, attempt]
