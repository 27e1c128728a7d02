"""Batch fixtures: a template of the `api` user, and helpers to send and read batches."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from notifier.extensions import db
from notifier.notifications.models import Notification, NotificationCount
from tests.helpers import ApiClient
from tests.notifier.api_keys.conftest import key_client

GREETING = {
    "name": "Greeting",
    "channel": "email",
    "title": "Hello {{ name }}",
    "content": "Your code is {{ code }}.",
}


@pytest.fixture
def template(api) -> dict:
    return api.post("/templates", 201, json=GREETING).get_json()


@pytest.fixture
def make_key(api) -> Callable[..., tuple[ApiClient, dict]]:
    return lambda **body: key_client(api, **body)


def recipients(count: int, **extra) -> list[dict]:
    return [
        {
            "target": f"user{index}@example.com",
            "personalisation": {"name": f"User {index}", "code": index},
            **extra,
        }
        for index in range(count)
    ]


def send_batch(client: ApiClient, template_id: int, expect: int | None = 201, **body):
    return client.post("/batches", expect, json={"template_id": template_id, **body})


def notifications_of(batch_id: int | None = None) -> list[Notification]:
    db.session.expire_all()
    query = select(Notification).order_by(Notification.id)
    if batch_id is not None:
        query = query.where(Notification.batch_id == batch_id)
    return list(db.session.scalars(query))


def notification_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Notification))


def counted(user_id: int) -> dict[str, int]:
    """The counters table's totals per status (kept by triggers)."""
    db.session.expire_all()
    rows = db.session.execute(
        select(NotificationCount.status, func.sum(NotificationCount.total))
        .where(NotificationCount.user_id == user_id)
        .group_by(NotificationCount.status)
    ).all()
    return {status: int(total) for status, total in rows if total}
