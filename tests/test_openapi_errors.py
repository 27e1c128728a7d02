"""Every error status a route answers is in the OpenAPI document, for that route.

Each operation of the document is called the ways a client gets it wrong: no
credential, an API key without the scope, an id that is not the caller's, a body
that is not JSON, one with an unknown field, one over the size limit. Whatever it
answers must be a status the document lists for that operation (or its success).
The statuses only some routes answer (409, 429) are checked on those routes.
"""

from __future__ import annotations

import re

import pytest

from notifier.database import utcnow
from tests.factories import NotificationFactory
from tests.openapi_support import operations

MISSING_ID = "987654321"


@pytest.fixture
def spec(client):
    return client.get("/openapi.json").get_json()


@pytest.fixture
def read_only_key(api) -> dict:
    key = api.post("/api-keys", 201, json={"name": "reader", "scopes": ["notifications:read"]})
    return {"Authorization": f"Bearer {key.get_json()['key']}"}


def _calls(operation: dict, token: dict, key: dict, limit: int):
    """(what, headers, keyword arguments of the request) for each way to get it wrong."""
    yield "no credential", {}, {}
    yield "an API key without the scope", key, {}
    yield "the caller's credential", token, {}
    if "requestBody" in operation:
        headers = {**token, "Content-Type": "application/json"}
        yield "a body that is not JSON", headers, {"data": b"{not json"}
        yield "an unknown field", token, {"json": {"unknown": 1}}
        yield "a body over the limit", token, {"json": {"title": "x" * limit}}


def test_every_status_a_route_answers_is_documented_for_it(app, client, api, read_only_key, spec):
    limit = app.config["MAX_CONTENT_LENGTH"]
    answered = set()
    for path, method, operation in operations(spec):
        url = re.sub(r"\{[^}]+\}", MISSING_ID, path)
        documented = set(operation["responses"])
        for what, headers, kwargs in _calls(operation, api.headers, read_only_key, limit):
            response = client.open(url, method=method.upper(), headers=headers, **kwargs)
            status = str(response.status_code)
            answered.add(status)
            assert status in documented, (method, path, what, status, sorted(documented))
    # The sweep reached every kind of error it is meant to.
    assert {"400", "401", "403", "404", "413", "422"} <= answered


def test_conflicts_and_rate_limits_are_documented_where_they_are_answered(
    app, client, api, user, spec, monkeypatch
):
    def answered(path: str, method: str, response) -> str:
        status = str(response.status_code)
        assert status in spec["paths"][path][method]["responses"], (method, path, status)
        return status

    registration = {"name": "Ada", "email": user.email, "password": "correct horse"}
    assert answered("/users", "post", client.post("/users", json=registration)) == "409"

    sent = NotificationFactory(user_id=user.id, status="sent", sent_at=utcnow(), attempts=1)
    path = "/notifications/{notification_id}"
    edit = {"title": "Edited", "content": "x", "channel": "email", "target": "a@example.com"}
    assert answered(path, "patch", api.patch(f"/notifications/{sent.id}", json=edit)) == "409"
    assert answered(path, "put", api.put(f"/notifications/{sent.id}", json=edit)) == "409"

    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "1 per minute")
    wrong = {"email": user.email, "password": "not the password"}
    assert answered("/auth/login", "post", client.post("/auth/login", json=wrong)) == "401"
    assert answered("/auth/login", "post", client.post("/auth/login", json=wrong)) == "429"
