"""A JSON body's booleans take `true` or `false` only, as the OpenAPI document says:
"yes", 1 or "true" are a 422 naming the field, and nothing is written."""

import pytest
from sqlalchemy import func, select

from notifier.batches.models import Batch
from notifier.extensions import db
from notifier.notifications.models import Notification
from tests.webhook_support import make_webhook

NOT_BOOLEANS = ["yes", 1, "true", None, [], {}]
EMAIL = {"title": "Hi", "content": "Hello", "channel": "email", "target": "a@example.com"}


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def _refused(response, field: str) -> None:
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]["json"]


@pytest.mark.parametrize("value", NOT_BOOLEANS)
def test_a_send_takes_only_a_json_boolean_for_unsubscribe(api, value):
    _refused(
        api.client.post(
            "/notifications", json={**EMAIL, "unsubscribe": value}, headers=api.headers
        ),
        "unsubscribe",
    )
    assert _count(Notification) == 0


@pytest.mark.parametrize("value", NOT_BOOLEANS)
def test_a_batch_takes_only_a_json_boolean_for_unsubscribe(api, value):
    template = api.post(
        "/templates", 201, json={"name": "t", "channel": "email", "title": "Hi", "content": "Hello"}
    )
    body = {
        "template_id": template.get_json()["id"],
        "recipients": [{"target": "a@example.com"}],
        "unsubscribe": value,
    }
    _refused(api.client.post("/batches", json=body, headers=api.headers), "unsubscribe")
    assert _count(Batch) == 0


@pytest.mark.parametrize("value", NOT_BOOLEANS)
def test_a_receipt_takes_only_a_json_boolean_for_permanent(api, value):
    body = {"provider_message_id": "m-1", "status": "failed", "permanent": value}
    _refused(api.client.post("/receipts", json=body, headers=api.headers), "permanent")


@pytest.mark.parametrize("value", NOT_BOOLEANS)
def test_a_webhook_edit_takes_only_a_json_boolean_for_enabled(api, value):
    webhook = make_webhook(api).get_json()
    response = api.client.patch(
        f"/webhooks/{webhook['id']}", json={"enabled": value}, headers=api.headers
    )
    _refused(response, "enabled")
    assert api.get(f"/webhooks/{webhook['id']}").get_json()["enabled"] is True


@pytest.mark.parametrize("value", [True, False])
def test_json_true_and_false_are_taken(api, value):
    body = api.post("/notifications", 201, json={**EMAIL, "unsubscribe": value}).get_json()
    assert body["unsubscribe"] is value
