"""Migration 0008 on a database with rows: keys keep their notifications.

On SQLite `api_keys` is copied to widen its scope CHECK; with foreign keys on,
dropping the old copy would set every notification's `api_key_id` to NULL. Run
on a SQLite file through `flask db`, as an operator upgrades.
"""

from __future__ import annotations

import sqlite3

from tests.test_migration_0006 import FLASK_DB, _query
from tests.test_migrations import _run

ROWS = """
INSERT INTO users (id, name, email, password_hash, created_at, updated_at)
VALUES (1, 'Ada', 'ada@example.com', 'h', '2026-01-01', '2026-01-01');
INSERT INTO api_keys (id, user_id, name, prefix, key_hash, mode, scope_mask, created_at)
VALUES (1, 1, 'Server', 'ntf_live_abcdefg', 'hash', 'live', 7, '2026-01-01');
INSERT INTO notifications (id, user_id, title, content, channel, target, status, attempts,
    next_attempt_at, version, delivery_key, created_at, updated_at, api_key_id)
VALUES (1, 1, 'T', 'C', 'email', 'a@example.com', 'sent', 1, '2026-01-01', 1, 'k1',
        '2026-01-01', '2026-01-01', 1);
"""
WITH_TEMPLATES = """
UPDATE api_keys SET scope_mask = 15;
INSERT INTO api_keys (id, user_id, name, prefix, key_hash, mode, scope_mask, created_at)
VALUES (2, 1, 'Reader', 'ntf_live_hijklmn', 'hash2', 'live', 8, '2026-01-01');
INSERT INTO templates (id, user_id, name, channel, title, content, version, created_at,
    updated_at)
VALUES (1, 1, 'T', 'email', 'T', 'C', 1, '2026-01-01', '2026-01-01');
"""


def test_upgrade_and_downgrade_keep_keys_and_their_notifications(tmp_path):
    database = tmp_path / "cli.db"
    assert _run([*FLASK_DB, "upgrade", "0006"], tmp_path).returncode == 0
    with sqlite3.connect(database) as connection:
        connection.executescript(ROWS)

    upgrade = _run([*FLASK_DB, "upgrade"], tmp_path)
    assert upgrade.returncode == 0, upgrade.stderr
    notification = "SELECT api_key_id, template_id, template_version, reference FROM notifications"
    assert _query(database, notification) == [(1, None, None, None)]
    assert _query(database, "PRAGMA foreign_key_check") == []
    schema = "SELECT sql FROM sqlite_master WHERE name IN ('api_keys', 'templates')"
    assert all("AUTOINCREMENT" in sql for (sql,) in _query(database, schema))
    with sqlite3.connect(database) as connection:
        connection.executescript(WITH_TEMPLATES)
    counts = "SELECT * FROM notification_counts"
    assert _query(database, counts) == [(1, "sent", "email", 0, 1)]

    downgrade = _run([*FLASK_DB, "downgrade", "0006"], tmp_path)
    assert downgrade.returncode == 0, downgrade.stderr
    assert _query(database, "SELECT id, scope_mask FROM api_keys") == [(1, 7)]
    assert _query(database, "SELECT id, api_key_id FROM notifications") == [(1, 1)]
    assert _query(database, counts) == [(1, "sent", "email", 0, 1)]
