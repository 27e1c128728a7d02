"""Receipt fixtures: API keys made through the API (as in the key tests), and the
settings Twilio's callbacks need."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.helpers import ApiClient
from tests.notifier.api_keys.conftest import key_client
from tests.notifier.receipts.twilio_support import BASE, TOKEN


@pytest.fixture
def make_key(api) -> Callable[..., tuple[ApiClient, dict]]:
    """`make_key(scopes=[...], mode="test")`: a client with a new key of the `api` user."""
    return lambda **body: key_client(api, **body)


@pytest.fixture
def twilio(app) -> Iterator[None]:
    """Twilio's auth token and the public base URL set, as POST /receipts/twilio needs."""
    saved = {k: app.config.get(k) for k in ("TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL")}
    app.config.update(TWILIO_AUTH_TOKEN=TOKEN, PUBLIC_BASE_URL=BASE)
    yield
    app.config.update(saved)
