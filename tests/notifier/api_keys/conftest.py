"""API key fixtures: keys made through the API, and clients that send them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.helpers import ApiClient


def key_client(api: ApiClient, **body) -> tuple[ApiClient, dict]:
    """Create a key as `api`'s user; a client sending it, and the 201 body."""
    created = api.post("/api-keys", 201, json={"name": "Server", **body}).get_json()
    return ApiClient(api.client.application.test_client(), created["key"], ""), created


@pytest.fixture
def make_key(api) -> Callable[..., tuple[ApiClient, dict]]:
    """`make_key(scopes=[...], mode="test")`: a client with a new key of the `api` user."""
    return lambda **body: key_client(api, **body)


@pytest.fixture
def keyed(make_key) -> ApiClient:
    """A client with a live key of every scope, for the `api` user."""
    return make_key()[0]
