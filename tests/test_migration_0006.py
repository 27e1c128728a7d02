"""Migration 0006 on a database with rows: nothing lost, counts rebuilt with `sandbox`.

SQLite copies `notifications` to add its foreign key; with foreign keys on, the
drop of the old copy would cascade to every delivery attempt. Run on a SQLite
file through `flask db`, as an operator upgrades.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.test_migrations import _run

FLASK_DB = ["-m", "flask", "--app", "wsgi", "db"]
ROWS = """
INSERT INTO users (id, name, email, password_hash, created_at, updated_at)
VALUES (1, 'Ada', 'ada@example.com', 'h', '2026-01-01', '2026-01-01');
INSERT INTO notifications (id, user_id, title, content, channel, target, status, attempts,
    next_attempt_at, version, delivery_key, created_at, updated_at)
VALUES (1, 1, 'T', 'C', 'email', 'a@example.com', 'sent', 1, '2026-01-01', 1, 'k1',
        '2026-01-01', '2026-01-01'),
       (2, 1, 'T', 'C', 'sms', '+14155552671', 'pending', 0, '2026-01-01', 1, 'k2',
        '2026-01-01', '2026-01-01');
INSERT INTO delivery_attempts (notification_id, number, started_at, finished_at, outcome,
    duration_ms)
VALUES (1, 1, '2026-01-01', '2026-01-01', 'sent', 5);
"""


def _query(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as connection:
        return connection.execute(sql).fetchall()


def test_upgrade_and_downgrade_keep_every_row(tmp_path):
    database = tmp_path / "cli.db"
    assert _run([*FLASK_DB, "upgrade", "0005"], tmp_path).returncode == 0
    with sqlite3.connect(database) as connection:
        connection.executescript(ROWS)

    upgrade = _run([*FLASK_DB, "upgrade"], tmp_path)
    assert upgrade.returncode == 0, upgrade.stderr
    assert _query(database, "SELECT count(*) FROM delivery_attempts") == [(1,)]
    assert _query(database, "SELECT id, sandbox, api_key_id FROM notifications") == [
        (1, 0, None),
        (2, 0, None),
    ]
    counts = "SELECT * FROM notification_counts ORDER BY channel"
    assert _query(database, counts) == [(1, "sent", "email", 0, 1), (1, "pending", "sms", 0, 1)]
    assert _query(database, "PRAGMA foreign_key_check") == []

    downgrade = _run([*FLASK_DB, "downgrade", "0005"], tmp_path)
    assert downgrade.returncode == 0, downgrade.stderr
    assert _query(database, "SELECT count(*) FROM delivery_attempts") == [(1,)]
    assert _query(database, counts) == [(1, "sent", "email", 1), (1, "pending", "sms", 1)]
