"""The delivery benchmark's rows: users, due notifications in bulk or one by one, waits.

Rows are written in SQL as the API would write them (status pending, a delivery key, due
now), so the dispatchers find the same queue they find in production.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg2.extensions
import psycopg2.extras

USERS = 100


def reset(
    connection: psycopg2.extensions.connection, user_ids: list[int] | None = None
) -> list[int]:
    """Empty the queue (and the per-user counters the triggers keep); make users once."""
    with connection, connection.cursor() as cursor:
        cursor.execute("TRUNCATE notifications, notification_counts CASCADE")
        if user_ids:
            return user_ids
        now = datetime.now(UTC)
        rows = psycopg2.extras.execute_values(
            cursor,
            "INSERT INTO users (name, email, password_hash, created_at, updated_at)"
            " VALUES %s RETURNING id",
            [(f"Bench {i}", f"bench{i}@example.com", "x", now, now) for i in range(USERS)],
            fetch=True,
        )
        return [row[0] for row in rows]


def add_suppressions(
    connection: psycopg2.extensions.connection, user_ids: list[int], per_user: int
) -> None:
    """`per_user` suppressed email addresses for every user, none of them a bench target,
    so every claim pays the suppression check against a large table and sends anyway."""
    if per_user < 1:
        return
    from notifier.suppressions.matching import key_columns

    now = datetime.now(UTC)
    rows = []
    for user_id in user_ids:
        for i in range(per_user):
            target = f"blocked{i}@example.com"
            keys = key_columns("email", target)
            rows.append(
                (
                    user_id,
                    "email",
                    target,
                    keys["target_prefix"],
                    keys["target_hash"],
                    "manual",
                    now,
                )
            )
    with connection, connection.cursor() as cursor:
        psycopg2.extras.execute_values(
            cursor,
            "INSERT INTO suppressions (user_id, channel, target, target_prefix, target_hash,"
            " reason, created_at) VALUES %s",
            rows,
            page_size=5000,
        )
        cursor.execute("ANALYZE suppressions")


def row(user_id: int, i: int, now: datetime) -> tuple[Any, ...]:
    return (
        user_id,
        f"Bench {i}",
        "Hello from the delivery benchmark.",
        "email",
        f"person{i}@example.com",
        "pending",
        0,
        1,
        uuid.uuid4().hex,
        now,
        now,
        now,
    )


INSERT = (
    "INSERT INTO notifications (user_id, title, content, channel, target, status, attempts,"
    " version, delivery_key, next_attempt_at, created_at, updated_at) VALUES %s"
)


def insert_bulk(
    connection: psycopg2.extensions.connection,
    user_ids: list[int],
    count: int,
    page_size: int = 1000,
) -> None:
    """`count` due rows in one transaction, `page_size` rows per INSERT statement."""
    now = datetime.now(UTC)
    rows = [row(user_ids[i % len(user_ids)], i, now) for i in range(count)]
    with connection, connection.cursor() as cursor:
        psycopg2.extras.execute_values(cursor, INSERT, rows, page_size=page_size)


def scalar(connection: psycopg2.extensions.connection, sql: str) -> Any:
    with connection, connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def wait_all_done(connection: psycopg2.extensions.connection, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = scalar(
            connection, "SELECT count(*) FROM notifications WHERE status IN ('sent','failed')"
        )
        if done >= count:
            return
        time.sleep(0.1)
    raise RuntimeError(f"timed out: {done}/{count} done after {timeout} s")
