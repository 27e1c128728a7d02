"""A key acts as its user on the notification routes: sandbox, ownership, expiry,
deletion, logout, `last_used_at`, and no extra round trip."""

from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, select, update

from config import TestConfig
from notifier import create_app
from notifier.api_keys.models import ApiKey
from notifier.extensions import db
from notifier.users.models import User
from tests.factories import NotificationFactory
from tests.helpers import ApiClient
from tests.notifier.api_keys.conftest import key_client


def _last_used(key_id: int) -> datetime | None:
    db.session.remove()
    return db.session.scalar(select(ApiKey.last_used_at).where(ApiKey.id == key_id))


def test_a_live_key_creates_live_notifications_recording_the_key(make_key, user):
    keyed, key = make_key(name="Billing")
    created = keyed.create().get_json()
    assert created["user_id"] == user.id
    assert created["sandbox"] is False
    assert created["api_key_id"] == key["id"]
    assert keyed.get(f"/notifications/{created['id']}").get_json() == created


def test_a_test_key_creates_sandbox_notifications(api, make_key):
    tester, key = make_key(mode="test")
    sandboxed = tester.create().get_json()
    assert sandboxed["sandbox"] is True and sandboxed["api_key_id"] == key["id"]
    by_token = api.create().get_json()
    assert by_token["sandbox"] is False and by_token["api_key_id"] is None
    # Edits keep it a sandbox notification, whoever makes them.
    edited = api.patch(f"/notifications/{sandboxed['id']}", 200, json={"title": "T"}).get_json()
    assert edited["sandbox"] is True


def test_the_list_filters_on_sandbox_with_exact_totals(api, make_key):
    tester, _ = make_key(mode="test")
    live, _ = make_key()
    test_ids = [tester.create().get_json()["id"] for _ in range(3)]
    live_ids = [live.create().get_json()["id"] for _ in range(2)]
    live_ids.append(api.create(channel="sms", target="+14155552671").get_json()["id"])

    def listed(query: str) -> tuple[list[int], int]:
        response = api.get(f"/notifications?{query}")
        total = int(response.headers["X-Pagination"].split('"total": ')[1].split(",")[0])
        return [item["id"] for item in response.get_json()], total

    assert listed("sandbox=true") == (test_ids[::-1], 3)
    assert listed("sandbox=false") == (live_ids[::-1], 3)
    assert listed("sandbox=false&channel=sms") == (live_ids[-1:], 1)
    assert listed("sandbox=true&status=pending&channel=email") == (test_ids[::-1], 3)
    assert listed("sandbox=true&status=sent") == ([], 0)
    assert listed("sandbox=true&page=2&page_size=2") == (test_ids[:1], 3)
    assert listed("")[1] == 6
    api.delete(f"/notifications/{test_ids[0]}", 204)
    assert listed("sandbox=true")[1] == 2


def test_an_invalid_sandbox_filter_is_422(api):
    for value in ("yes", "1", "True", "", "null"):
        error = api.get(f"/notifications?sandbox={value}", 422).get_json()
        assert set(error["errors"]["query"]) == {"sandbox"}


def test_two_users_keys_never_reach_each_others_notifications(api, other_api, make_key):
    mine, _ = make_key()
    theirs, _ = key_client(other_api)
    my_id = mine.create().get_json()["id"]
    their_id = theirs.create().get_json()["id"]
    NotificationFactory(user_id=other_api.get("/users/me").get_json()["id"])

    assert [item["id"] for item in mine.get("/notifications").get_json()] == [my_id]
    for client, foreign in ((mine, their_id), (theirs, my_id)):
        for method, path in [
            ("GET", f"/notifications/{foreign}"),
            ("GET", f"/notifications/{foreign}/attempts"),
            ("PATCH", f"/notifications/{foreign}"),
            ("DELETE", f"/notifications/{foreign}"),
        ]:
            response = client.request(method, path, 404, json={"title": "Mine now"})
            assert response.get_json()["message"] == "Notification not found."
    api.get(f"/notifications/{my_id}", 200)
    other_api.get(f"/notifications/{their_id}", 200)


def _refused(client: ApiClient, path: str = "/notifications") -> str:
    response = client.get(path, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    body = response.get_json()
    assert body["code"] == 401 and body["status"] == "Unauthorized"
    assert client.access_token not in response.get_data(as_text=True)
    return body["message"]


def test_a_deleted_key_is_refused_at_once_even_after_use(api, make_key):
    keyed, key = make_key()
    created = keyed.create().get_json()
    for _ in range(3):  # known to this process now
        keyed.get(f"/notifications/{created['id']}", 200)
    api.delete(f"/api-keys/{key['id']}", 204)
    for path in ("/notifications", f"/notifications/{created['id']}"):
        assert "not valid" in _refused(keyed, path)
    keyed.create(expect=401)
    keyed.delete(f"/notifications/{created['id']}", 401)
    # Its notifications stay, no longer pointing at the key.
    assert api.get(f"/notifications/{created['id']}").get_json()["api_key_id"] is None


def test_a_deleted_key_is_refused_by_another_app_that_knew_it(app, api, make_key):
    """Two app instances stand for two processes: each remembers the key's attributes."""
    keyed, key = make_key()
    second = ApiClient(create_app(TestConfig).test_client(), keyed.access_token, "")
    keyed.get("/notifications", 200)
    second.get("/notifications", 200)
    api.delete(f"/api-keys/{key['id']}", 204)
    _refused(keyed)
    _refused(second)


def test_a_key_of_a_deleted_user_is_refused(make_key, user):
    keyed, _ = make_key()
    keyed.get("/notifications", 200)
    db.session.delete(db.session.get(User, user.id))
    db.session.commit()
    _refused(keyed)
    keyed.create(expect=401)


def test_an_expired_key_is_refused(api, make_key):
    expires = datetime.now(UTC) + timedelta(seconds=1)
    keyed, _ = make_key(expires_at=expires.isoformat())
    keyed.get("/notifications", 200)
    while datetime.now(UTC) < expires + timedelta(milliseconds=50):
        time.sleep(0.05)
    assert _refused(keyed) == "The API key has expired."
    keyed.create(expect=401)


def test_an_expiry_reached_is_refused_in_the_statement_too(api, make_key):
    """The database's expiry is read in the request's statement, not only in memory."""
    keyed, key = make_key(expires_at="2999-01-01T00:00:00+00:00")
    keyed.get("/notifications", 200)
    db.session.execute(
        update(ApiKey)
        .where(ApiKey.id == key["id"])
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    db.session.commit()
    _refused(keyed)
    # A process that never saw the key refuses it on its first look-up.
    fresh = ApiClient(create_app(TestConfig).test_client(), keyed.access_token, "")
    assert _refused(fresh) == "The API key has expired."


def test_logout_does_not_revoke_keys(api, keyed):
    api.post("/auth/logout", 204)
    api.get("/notifications", 401)
    keyed.get("/notifications", 200)
    keyed.create()


def test_last_used_at_is_written_at_most_once_a_minute(api, make_key):
    keyed, key = make_key()
    assert _last_used(key["id"]) is None
    keyed.get("/notifications", 200)
    first = _last_used(key["id"])
    assert first is not None
    keyed.create()
    keyed.get("/notifications", 200)
    assert _last_used(key["id"]) == first  # within the minute: no write
    assert api.get(f"/api-keys/{key['id']}").get_json()["last_used_at"] == first.isoformat()

    # Two minutes later (as far as the database knows), another process uses it.
    earlier = first - timedelta(minutes=2)
    db.session.execute(update(ApiKey).where(ApiKey.id == key["id"]).values(last_used_at=earlier))
    db.session.commit()
    second = ApiClient(create_app(TestConfig).test_client(), keyed.access_token, "")
    second.get("/notifications", 200)
    assert _last_used(key["id"]) > first
    # This process still thinks it wrote within the minute: nothing more.
    now = _last_used(key["id"])
    keyed.get("/notifications", 200)
    assert _last_used(key["id"]) == now


@contextmanager
def _statements():
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_a_key_costs_no_more_round_trips_than_a_token(api, keyed):
    created = keyed.create().get_json()
    keyed.get("/notifications", 200)  # looked up and touched: known now
    path = f"/notifications/{created['id']}"
    for client in (api, keyed):
        client.get(path, 200)  # warm
        with _statements() as seen:
            client.get(path, 200)
            client.create()
            client.get("/notifications", 200)
        assert len(seen) == 3, seen
