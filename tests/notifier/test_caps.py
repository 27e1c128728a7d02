"""The cap check shared by keys, webhooks and templates: its limits, its 422, and a user
deleted while their create waited for the lock."""

from __future__ import annotations

import pytest
from werkzeug.exceptions import Unauthorized, UnprocessableEntity

from notifier import caps
from notifier.api_keys.models import ApiKey
from notifier.database import transaction
from notifier.webhooks.models import Webhook
from tests.webhook_support import make_webhook


def test_the_caps_are_20_keys_10_webhooks_and_1000_templates():
    assert (caps.API_KEYS.limit, caps.WEBHOOKS.limit, caps.TEMPLATES.limit) == (20, 10, 1000)
    assert caps.API_KEYS.message == "You already have 20 API keys; delete one first."


def test_over_the_cap_is_a_422_naming_the_field(api, user):
    for _ in range(10):
        make_webhook(api)
    with pytest.raises(UnprocessableEntity) as refused, transaction():
        caps.ensure_room(caps.WEBHOOKS, user.id, Webhook.user_id)
    assert refused.value.data["errors"] == {"json": {"url": [caps.WEBHOOKS.message]}}


def test_a_user_that_no_longer_exists_is_refused_as_unauthenticated(app):
    with pytest.raises(Unauthorized), transaction():
        caps.ensure_room(caps.API_KEYS, 10**12, ApiKey.user_id)
