"""Migration 0007 on a database with rows: every table rebuilt AUTOINCREMENT, nothing lost.

On SQLite each table with an integer key is copied; the copy must keep its rows,
indexes, foreign keys (and their cascades) and the notification counters' triggers,
and from then on never give a deleted row's id again. On PostgreSQL it does
nothing: its triggers (counters and dispatcher wake-ups) stay as they are. Run on a
SQLite file through `flask db`, as an operator upgrades.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from notifier.extensions import db
from tests.conftest import postgres_only
from tests.test_migration_0006 import FLASK_DB
from tests.test_migrations import _run

ROWS = """
INSERT INTO users (id, name, email, password_hash, created_at, updated_at)
VALUES (1, 'Ada', 'ada@example.com', 'h', '2026-01-01', '2026-01-01'),
       (2, 'Bo', 'bo@example.com', 'h', '2026-01-01', '2026-01-01');
INSERT INTO api_keys (id, user_id, name, prefix, key_hash, mode, scope_mask, created_at)
VALUES (4, 2, 'srv', 'ntf_live_abcdefg', 'hash-4', 'live', 7, '2026-01-01');
INSERT INTO notifications (id, user_id, title, content, channel, target, status, attempts,
    next_attempt_at, version, delivery_key, created_at, updated_at, api_key_id)
VALUES (1, 1, 'T', 'C', 'email', 'a@example.com', 'sent', 1, '2026-01-01', 1, 'k1',
        '2026-01-01', '2026-01-01', NULL),
       (7, 2, 'T', 'C', 'sms', '+14155552671', 'pending', 0, '2026-01-01', 1, 'k7',
        '2026-01-01', '2026-01-01', 4);
INSERT INTO delivery_attempts (id, notification_id, number, started_at, finished_at, outcome,
    duration_ms)
VALUES (3, 1, 1, '2026-01-01', '2026-01-01', 'sent', 5);
INSERT INTO webhooks (id, user_id, url, event_mask, enabled, secret, created_at, updated_at)
VALUES (5, 2, 'https://93.184.215.14/h', 7, 1, 's', '2026-01-01', '2026-01-01');
"""
NEW_NOTIFICATION = """
INSERT INTO notifications (user_id, title, content, channel, target, status, attempts,
    next_attempt_at, version, delivery_key, created_at, updated_at)
VALUES (2, 'N', 'C', 'email', 'b@example.com', 'pending', 0, '2026-01-02', 1, 'kn',
        '2026-01-02', '2026-01-02')
"""
COUNTS = "SELECT user_id, status, channel, total FROM notification_counts ORDER BY 1, 2"
INDEXES_AND_TRIGGERS = (
    "SELECT type, name, tbl_name, sql FROM sqlite_master"
    " WHERE type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY name"
)


def _query(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA foreign_keys=ON")
        rows = connection.execute(sql).fetchall()
        connection.commit()
        return rows


def _tables_sql(path: Path) -> dict[str, str]:
    return dict(_query(path, "SELECT name, sql FROM sqlite_master WHERE type = 'table'"))


def test_upgrade_rebuilds_integer_keyed_tables_autoincrement_and_keeps_everything(tmp_path):
    database = tmp_path / "cli.db"
    assert _run([*FLASK_DB, "upgrade", "0006"], tmp_path).returncode == 0
    with sqlite3.connect(database) as connection:
        connection.executescript(ROWS)
    before = _query(database, INDEXES_AND_TRIGGERS)
    assert sum(kind == "trigger" for kind, *_ in before) == 3

    upgrade = _run([*FLASK_DB, "upgrade", "0007"], tmp_path)
    assert upgrade.returncode == 0, upgrade.stderr

    tables = _tables_sql(database)
    for name in ("users", "api_keys", "notifications", "delivery_attempts", "webhooks"):
        assert "PRIMARY KEY AUTOINCREMENT" in tables[name], name
    for name in ("auth_sessions", "notification_counts", "rate_limit_counters"):
        assert "AUTOINCREMENT" not in tables[name], name
    assert _query(database, INDEXES_AND_TRIGGERS) == before
    assert _query(database, "SELECT id, user_id, api_key_id FROM notifications ORDER BY id") == [
        (1, 1, None),
        (7, 2, 4),
    ]
    assert _query(database, "SELECT id, notification_id FROM delivery_attempts") == [(3, 1)]
    assert _query(database, "SELECT id FROM api_keys") == [(4,)]
    assert _query(database, "SELECT id FROM webhooks") == [(5,)]
    assert _query(database, "PRAGMA foreign_key_check") == []
    assert _query(database, COUNTS) == [(1, "sent", "email", 1), (2, "pending", "sms", 1)]

    # The counters' triggers work on the copy: an insert and a delete are counted.
    _query(database, NEW_NOTIFICATION)
    assert _query(database, "SELECT max(id) FROM notifications") == [(8,)]
    _query(database, "DELETE FROM notifications WHERE id = 8")
    assert _query(database, COUNTS) == [
        (1, "sent", "email", 1),
        (2, "pending", "email", 0),
        (2, "pending", "sms", 1),
    ]
    # The deleted id is not given again (it was the highest).
    _query(database, NEW_NOTIFICATION)
    assert _query(database, "SELECT max(id) FROM notifications") == [(9,)]

    # The foreign keys still act: deleting a key nulls its notifications' reference,
    # deleting a user cascades to their notifications and those to their attempts.
    _query(database, "DELETE FROM api_keys WHERE id = 4")
    assert _query(database, "SELECT api_key_id FROM notifications WHERE id = 7") == [(None,)]
    _query(database, "DELETE FROM users WHERE id = 1")
    assert _query(database, "SELECT count(*) FROM delivery_attempts") == [(0,)]
    assert _query(database, "SELECT id FROM notifications ORDER BY id") == [(7,), (9,)]
    # A deleted user's id is not given to the next user.
    _query(database, "DELETE FROM users WHERE id = 2")
    _query(
        database,
        "INSERT INTO users (name, email, password_hash, created_at, updated_at)"
        " VALUES ('Cy', 'cy@example.com', 'h', '2026-01-03', '2026-01-03')",
    )
    assert _query(database, "SELECT id FROM users") == [(3,)]


def test_downgrade_rebuilds_them_back_and_keeps_every_row(tmp_path):
    database = tmp_path / "cli.db"
    assert _run([*FLASK_DB, "upgrade", "0006"], tmp_path).returncode == 0
    with sqlite3.connect(database) as connection:
        connection.executescript(ROWS)
    before = _query(database, INDEXES_AND_TRIGGERS)
    assert _run([*FLASK_DB, "upgrade", "0007"], tmp_path).returncode == 0

    downgrade = _run([*FLASK_DB, "downgrade", "0006"], tmp_path)
    assert downgrade.returncode == 0, downgrade.stderr

    assert not any("AUTOINCREMENT" in sql for sql in _tables_sql(database).values())
    assert _query(database, INDEXES_AND_TRIGGERS) == before
    assert _query(database, "SELECT id FROM notifications ORDER BY id") == [(1,), (7,)]
    assert _query(database, COUNTS) == [(1, "sent", "email", 1), (2, "pending", "sms", 1)]
    assert _query(database, "PRAGMA foreign_key_check") == []


@postgres_only
def test_on_postgresql_it_changes_nothing_and_the_triggers_stay(app):
    triggers = text(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = 'notifications'::regclass"
        " AND NOT tgisinternal ORDER BY tgname"
    )
    with db.engine.connect() as connection:
        before = connection.execute(triggers).scalars().all()
    assert {"notifications_wake_insert", "notification_counts_insert"} <= set(before)

    downgrade(revision="0006")
    upgrade()

    with db.engine.connect() as connection:
        assert connection.execute(triggers).scalars().all() == before
