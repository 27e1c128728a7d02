"""A revoked login (or a deleted user) is refused by every route, and changes nothing.

The hot routes check the session inside their own statement; these tests hold
every route to the same answer as the routes that check it separately.
"""

import pytest
from sqlalchemy import func, select

from notifier.extensions import db
from notifier.notifications.models import Notification
from tests.factories import PASSWORD
from tests.helpers import ApiClient

BODY = {"title": "Hi", "content": "Hello", "channel": "email", "target": "a@example.com"}

ROUTES = [
    ("GET", "/notifications", None, {}),
    ("GET", "/notifications?status=pending&channel=email", None, {}),
    ("GET", "/notifications?page=5", None, {}),
    ("POST", "/notifications", BODY, {}),
    ("POST", "/notifications", BODY, {"Idempotency-Key": "k-1"}),
    ("GET", "/notifications/{id}", None, {}),
    ("GET", "/notifications/{missing}", None, {}),
    ("PUT", "/notifications/{id}", BODY, {}),
    ("PATCH", "/notifications/{id}", {"title": "New"}, {}),
    ("DELETE", "/notifications/{id}", None, {}),
    ("GET", "/notifications/{id}/attempts", None, {}),
    ("GET", "/users/me", None, {}),
    ("POST", "/auth/logout", None, {}),
]


def _notifications():
    return db.session.execute(select(Notification.id, Notification.version)).all()


def _call(api, notification_id, method, path, body, headers):
    path = path.format(id=notification_id, missing=notification_id + 1000)
    return api.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "body", "headers"), ROUTES)
def test_a_logged_out_token_is_refused_everywhere_and_writes_nothing(
    app, api, user, method, path, body, headers
):
    notification_id = api.create().get_json()["id"]
    other_login = ApiClient.login(app.test_client(), user.email, PASSWORD)
    other_login.post("/auth/logout", expect=204)
    api.post("/auth/logout", expect=204)
    before = _notifications()

    response = _call(api, notification_id, method, path, body, headers)

    assert response.status_code == 401, response.get_json()
    assert response.get_json()["message"] == "The token has been revoked."
    assert response.headers["WWW-Authenticate"] == "Bearer"
    db.session.remove()
    assert _notifications() == before


@pytest.mark.parametrize(("method", "path", "body", "headers"), ROUTES)
def test_the_token_of_a_deleted_user_is_refused_everywhere(api, user, method, path, body, headers):
    notification_id = api.create().get_json()["id"]
    db.session.delete(user)
    db.session.commit()

    response = _call(api, notification_id, method, path, body, headers)

    assert response.status_code == 401, response.get_json()
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0


def test_logging_out_one_login_leaves_the_others_working(app, api, user):
    other_login = ApiClient.login(app.test_client(), user.email, PASSWORD)
    notification_id = api.create().get_json()["id"]
    other_login.post("/auth/logout", expect=204)

    api.get(f"/notifications/{notification_id}", expect=200)
    api.get("/notifications", expect=200)
    api.create()


def test_another_users_notification_is_404_not_401(api, other_api):
    """A live token on someone else's row: the row is missing, the token is fine."""
    notification_id = other_api.create().get_json()["id"]
    response = api.get(f"/notifications/{notification_id}", expect=404)
    assert response.get_json()["message"] == "Notification not found."


def test_a_bearer_token_beside_another_scheme_is_found(api):
    header = f"Basic dXNlcjpwYXNz, Bearer {api.access_token}"
    response = api.client.get("/users/me", headers={"Authorization": header})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer a b", "Basic dXNlcjpwYXNz", "Bearer x, Bearer y", "bearer abc"],
)
def test_a_malformed_authorization_header_is_401(api, header):
    api.create()
    for path in ("/notifications", "/users/me"):
        response = api.client.get(path, headers={"Authorization": header})
        assert response.status_code == 401, (path, header)
        assert response.headers["WWW-Authenticate"] == "Bearer"
