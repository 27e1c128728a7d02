"""Suppression fixtures: API keys made through the API (as in the key tests)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.helpers import ApiClient
from tests.notifier.api_keys.conftest import key_client


@pytest.fixture
def make_key(api) -> Callable[..., tuple[ApiClient, dict]]:
    """`make_key(scopes=[...], mode="test")`: a client with a new key of the `api` user."""
    return lambda **body: key_client(api, **body)
