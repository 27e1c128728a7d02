"""The database:// rate-limit storage: fixed windows in the rate_limit_counters table."""

import time

from notifier.extensions import db
from notifier.ratelimit import DatabaseStorage
from tests.conftest import postgres_only


def test_hits_count_up_within_a_window_and_start_again_after_it(app):
    storage = DatabaseStorage()
    assert storage.check()
    assert [storage.incr("k", expiry=60) for _ in range(3)] == [1, 2, 3]
    assert storage.get("k") == 3
    assert storage.get_expiry("k") > time.time() + 50
    assert storage.incr("other", expiry=60) == 1

    db.session.execute(db.text("UPDATE rate_limit_counters SET expires_at = 0 WHERE key = 'k'"))
    db.session.commit()
    assert storage.get("k") == 0
    assert storage.incr("k", expiry=60) == 1


def test_clear_reset_and_purge(app):
    storage = DatabaseStorage()
    storage.incr("a", expiry=60)
    storage.incr("b", expiry=60)
    storage.clear("a")
    assert storage.get("a") == 0
    db.session.execute(db.text("UPDATE rate_limit_counters SET expires_at = 0"))
    db.session.commit()
    assert storage.purge_expired() == 1
    storage.incr("c", expiry=60)
    assert storage.reset() == 1


@postgres_only
def test_login_writes_skip_the_wal_flush_and_everything_else_keeps_it(app):
    """A lost login counter or session is harmless; a lost notification or logout is not."""
    from sqlalchemy import text

    from notifier.database import async_commit, autocommit

    def setting(connection):
        return connection.execute(text("SHOW synchronous_commit")).scalar()

    with async_commit() as connection:
        assert setting(connection) == "off"
    with autocommit() as connection:
        assert setting(connection) == "on"
    with db.engine.connect() as connection:
        assert setting(connection) == "on"
