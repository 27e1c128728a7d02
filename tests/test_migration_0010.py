"""Migration 0010 on a database with rows: notifications, their counts and webhooks survive.

On SQLite `notifications` and `webhooks` are copied to widen their CHECKs; the
copy must keep every row, the AUTOINCREMENT, the foreign keys and the counter
triggers. Run on a SQLite file through `flask db`, as an operator upgrades.
"""

from __future__ import annotations

import sqlite3

from tests.test_migration_0006 import FLASK_DB, _query
from tests.test_migrations import _run

ROWS = """
INSERT INTO users (id, name, email, password_hash, created_at, updated_at)
VALUES (1, 'Ada', 'ada@example.com', 'h', '2026-01-01', '2026-01-01');
INSERT INTO notifications (id, user_id, title, content, channel, target, status, attempts,
    next_attempt_at, version, delivery_key, created_at, updated_at, provider_message_id)
VALUES (1, 1, 'T', 'C', 'email', 'a@example.com', 'sent', 1, '2026-01-01', 1, 'k1',
        '2026-01-01', '2026-01-01', 'p-1');
INSERT INTO webhooks (id, user_id, url, event_mask, enabled, secret, created_at, updated_at)
VALUES (1, 1, 'https://example.com/h', 7, 1, 'whsec_x', '2026-01-01', '2026-01-01');
"""
DELIVERED = """
UPDATE notifications SET status = 'delivered', delivered_at = '2026-01-02' WHERE id = 1;
UPDATE webhooks SET event_mask = 15;
INSERT INTO suppressions (user_id, channel, target, target_prefix, target_hash, reason,
    created_at)
VALUES (1, 'email', 'a@example.com', 'a@example.com', 'h', 'receipt', '2026-01-02');
"""
COUNTS = "SELECT user_id, status, channel, sandbox, total FROM notification_counts WHERE total != 0"


def test_upgrade_and_downgrade_keep_notifications_counts_and_webhooks(tmp_path):
    database = tmp_path / "cli.db"
    assert _run([*FLASK_DB, "upgrade", "0008"], tmp_path).returncode == 0
    with sqlite3.connect(database) as connection:
        connection.executescript(ROWS)

    upgrade = _run([*FLASK_DB, "upgrade"], tmp_path)
    assert upgrade.returncode == 0, upgrade.stderr
    assert _query(database, "SELECT id, status, provider_message_id FROM notifications") == [
        (1, "sent", "p-1")
    ]
    assert _query(database, "PRAGMA foreign_key_check") == []
    schema = "SELECT sql FROM sqlite_master WHERE name IN ('notifications', 'suppressions')"
    assert all("AUTOINCREMENT" in sql for (sql,) in _query(database, schema))
    with sqlite3.connect(database) as connection:
        connection.executescript(DELIVERED)
    # The counter triggers came back with the copy: the status change was counted.
    assert _query(database, COUNTS) == [(1, "delivered", "email", 0, 1)]

    downgrade = _run([*FLASK_DB, "downgrade", "0008"], tmp_path)
    assert downgrade.returncode == 0, downgrade.stderr
    assert _query(database, "SELECT id, status FROM notifications") == [(1, "sent")]
    assert _query(database, "SELECT event_mask FROM webhooks") == [(7,)]
    assert _query(database, COUNTS) == [(1, "sent", "email", 0, 1)]
