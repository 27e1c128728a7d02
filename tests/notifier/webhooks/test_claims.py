"""notifier.claims: the one claiming mechanism, on the webhook deliveries' queue."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from notifier import claims
from notifier.database import utcnow
from notifier.extensions import db
from notifier.webhooks.models import WebhookDelivery
from tests.conftest import postgres_only
from tests.webhook_support import make_webhook

table = WebhookDelivery.__table__
DUE = (table.c.status == "pending",)


def _queue(api, count: int) -> list[int]:
    webhook_id = make_webhook(api).get_json()["id"]
    return [api.post(f"/webhooks/{webhook_id}/test", 202).get_json()["id"] for _ in range(count)]


def _claim(connection, limit: int, now):
    return claims.claim_due(
        connection,
        table,
        due=(*DUE, table.c.next_attempt_at <= now),
        order_by=table.c.next_attempt_at,
        limit=limit,
        values={"attempts": table.c.attempts + 1, "next_attempt_at": now + timedelta(60)},
        returning=(table.c.id,),
        recheck=DUE,
    )


def test_claims_respect_the_limit_and_the_due_order(api):
    ids = _queue(api, 4)
    now = utcnow()
    with db.engine.begin() as connection:
        for offset, delivery_id in zip((3, 1, 2, -5), ids, strict=True):
            connection.execute(
                table.update()
                .where(table.c.id == delivery_id)
                .values(next_attempt_at=now - timedelta(seconds=offset))
            )
        claimed = [row.id for row in _claim(connection, 2, now)]
    assert claimed and set(claimed) == {ids[0], ids[2]}
    with db.engine.begin() as connection:
        assert [row.id for row in _claim(connection, 5, now)] == [ids[1]]  # ids[3] not due


def test_lock_expired_returns_rows_whose_lease_ended(api):
    ids = _queue(api, 2)
    now = utcnow()
    with db.engine.begin() as connection:
        connection.execute(
            table.update().where(table.c.id == ids[0]).values(lease_expires_at=now - timedelta(1))
        )
        connection.execute(
            table.update().where(table.c.id == ids[1]).values(lease_expires_at=now + timedelta(1))
        )
        rows = claims.lock_expired(
            connection, table, claimed=DUE, lease=table.c.lease_expires_at, now=now, limit=10
        )
    assert [row.id for row in rows] == [ids[0]]


@postgres_only
def test_a_row_locked_by_another_claimer_is_skipped_not_waited_for(api):
    ids = _queue(api, 2)
    now = utcnow()
    with db.engine.connect() as holder, holder.begin():
        holder.execute(select(table.c.id).where(table.c.id == ids[0]).with_for_update())
        with db.engine.begin() as connection:
            assert [row.id for row in _claim(connection, 5, now)] == [ids[1]]
