"""Template fixtures: templates made through the API, and clients with API keys."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.helpers import ApiClient
from tests.notifier.api_keys.conftest import key_client

ORDER = {
    "name": "Order shipped",
    "channel": "email",
    "title": "Order {{ order }} shipped",
    "content": "Hello {{name}}, your order {{ order }} is on its way to {{ city }}.",
}
VALUES = {"name": "Ada", "order": 42, "city": "London"}


@pytest.fixture
def make_template(api) -> Callable[..., dict]:
    """`make_template(**fields)`: a template of the `api` user (201 body)."""
    return lambda client=api, **fields: client.post(
        "/templates", 201, json={**ORDER, **fields}
    ).get_json()


@pytest.fixture
def template(make_template) -> dict:
    return make_template()


@pytest.fixture
def make_key(api) -> Callable[..., tuple[ApiClient, dict]]:
    """`make_key(scopes=[...])`: a client with a new key of the `api` user."""
    return lambda **body: key_client(api, **body)


def send(client: ApiClient, expect: int = 201, **fields):
    """POST /notifications with a template; the response."""
    body = {"target": "ada@example.com", **fields}
    return client.post("/notifications", expect, json=body)
