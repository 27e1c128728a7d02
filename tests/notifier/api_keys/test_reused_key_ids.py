"""A deleted key never comes back, not through a new key nor a new user that took its id.

Each process remembers a key it has seen by its hash; the check in the request's
statement must match that credential, not only the row's id. The first test of each
pair runs the sequence an attacker ran through the API (on SQLite, before ids were
never reused, the new rows got the deleted ones' ids); the second forces the same
ids, so that the credential check is proven on every database.
"""

from __future__ import annotations

from sqlalchemy import insert

from config import TestConfig
from notifier import create_app
from notifier.api_keys.credentials import PREFIX_CHARS, key_hash, new_key
from notifier.api_keys.models import ALL_SCOPES_MASK, ApiKey
from notifier.database import utcnow
from notifier.extensions import db
from notifier.users.models import User
from tests.factories import PASSWORD, UserFactory
from tests.helpers import ApiClient
from tests.notifier.api_keys.conftest import key_client


def _second_process(client: ApiClient) -> ApiClient:
    """The same credential sent to another app instance (another process's memory)."""
    return ApiClient(create_app(TestConfig).test_client(), client.access_token, "")


def _refused_everywhere(*clients: ApiClient) -> None:
    for client in clients:
        for path in ("/notifications", "/notifications/1"):
            response = client.get(path, 401)
            assert response.headers["WWW-Authenticate"] == "Bearer"
        client.create(expect=401)


def _insert_key(user_id: int, key_id: int) -> ApiKey:
    """A new key row with a chosen id, as a database that reuses ids would make it."""
    secret = new_key("live")
    with db.engine.begin() as connection:
        connection.execute(
            insert(ApiKey).values(
                id=key_id,
                user_id=user_id,
                name="Newcomer",
                prefix=secret[:PREFIX_CHARS],
                key_hash=key_hash(secret),
                mode="live",
                scope_mask=ALL_SCOPES_MASK,
                created_at=utcnow(),
            )
        )
    return secret


def test_a_deleted_key_stays_refused_when_a_new_key_is_made(api):
    first, k1 = key_client(api)
    elsewhere = _second_process(first)
    created = first.create().get_json()
    for client in (first, elsewhere):  # both processes remember K1 now
        client.get(f"/notifications/{created['id']}", 200)
    api.delete(f"/api-keys/{k1['id']}", 204)
    _refused_everywhere(first, elsewhere)

    second, k2 = key_client(api)

    _refused_everywhere(first, elsewhere)
    assert k2["id"] != k1["id"]
    assert second.create().get_json()["api_key_id"] == k2["id"]
    assert [item["api_key_id"] for item in api.get("/notifications").get_json()] == [k2["id"], None]


def test_a_deleted_key_is_refused_even_if_a_new_key_has_its_id(api, user):
    first, k1 = key_client(api)
    elsewhere = _second_process(first)
    for client in (first, elsewhere):
        client.get("/notifications", 200)
    api.delete(f"/api-keys/{k1['id']}", 204)

    secret = _insert_key(user.id, k1["id"])

    _refused_everywhere(first, elsewhere)
    newcomer = ApiClient(api.client.application.test_client(), secret, "")
    assert newcomer.create().get_json()["api_key_id"] == k1["id"]
    assert len(api.get("/notifications").get_json()) == 1


def _register(client, name: str) -> ApiClient:
    email = f"{name.lower()}@example.com"
    body = {"name": name, "email": email, "password": PASSWORD}
    assert client.post("/users", json=body).status_code == 201
    return ApiClient.login(client, email, PASSWORD)


def _delete_user(user_id: int) -> None:
    db.session.delete(db.session.get(User, user_id))
    db.session.commit()


def test_a_deleted_users_key_never_reads_the_next_users_notifications(app):
    UserFactory()  # someone older, so that the deleted user is not alone
    leaver = _register(app.test_client(), "Leaver")
    leaver_id = leaver.get("/users/me").get_json()["id"]
    old_key, old = key_client(leaver)
    old_key.get("/notifications", 200)  # remembered by this process
    _delete_user(leaver_id)
    _refused_everywhere(old_key)

    newcomer = _register(app.test_client(), "Newcomer")
    new_key_client, new = key_client(newcomer)
    secret = new_key_client.create(title="Private").get_json()

    _refused_everywhere(old_key)
    assert newcomer.get("/users/me").get_json()["id"] != leaver_id
    assert new["id"] != old["id"]
    assert [item["id"] for item in newcomer.get("/notifications").get_json()] == [secret["id"]]


def test_a_deleted_users_key_is_refused_even_if_the_next_user_has_both_ids(app):
    leaver = _register(app.test_client(), "Leaver")
    leaver_id = leaver.get("/users/me").get_json()["id"]
    old_key, old = key_client(leaver)
    old_key.get("/notifications", 200)
    _delete_user(leaver_id)

    newcomer = UserFactory(id=leaver_id)
    secret = _insert_key(newcomer.id, old["id"])
    keyed = ApiClient(app.test_client(), secret, "")
    private = keyed.create(title="Private").get_json()

    _refused_everywhere(old_key)
    assert [item["id"] for item in keyed.get("/notifications").get_json()] == [private["id"]]
