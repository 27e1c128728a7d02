"""On PostgreSQL, writing a due pending notification wakes listening dispatchers."""

import select

import psycopg2
import pytest

from notifier.extensions import db
from tests.conftest import postgres_only


@pytest.fixture
def listener(app):
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = psycopg2.connect(url)
    connection.autocommit = True
    connection.cursor().execute("LISTEN notifier_due")
    yield connection
    connection.close()


def _woken(connection, timeout: float = 2.0) -> bool:
    select.select([connection], [], [], timeout)
    connection.poll()
    woken = bool(connection.notifies)
    connection.notifies.clear()
    return woken


@postgres_only
def test_a_due_notification_wakes_dispatchers_and_a_scheduled_one_does_not(api, listener):
    api.create()
    assert _woken(listener)
    later = api.create(scheduled_at="2099-01-01T00:00:00+00:00").get_json()
    assert not _woken(listener, timeout=0.5)
    api.patch(f"/notifications/{later['id']}", 200, json={"scheduled_at": None})
    assert _woken(listener)
