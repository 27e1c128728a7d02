"""The Python client's batch and cancel methods against the live API over HTTP."""

from __future__ import annotations

import pytest
from notifier_client import NotifierError

from tests.clients.test_python_client import EMAIL, client, token  # noqa: F401 (fixtures)


@pytest.fixture
def template_id(client) -> int:  # noqa: F811 (the fixture imported above)
    return client.create_template(
        name="Hi", channel="email", title="Hi {{ name }}", content="Hello {{ name }}."
    )["id"]


def test_send_batch_then_read_list_and_cancel_it(client, template_id):  # noqa: F811
    recipients = [
        {"target": f"u{i}@example.com", "personalisation": {"name": f"U{i}"}} for i in range(3)
    ]
    batch = client.send_batch(template_id=template_id, recipients=recipients, name="Hello all")
    assert (batch["total"], batch["status"], batch["name"]) == (3, "pending", "Hello all")
    assert client.batch(batch["id"])["counts"]["pending"] == 3
    assert [b["id"] for b in client.batches()] == [batch["id"]]
    assert len(list(client.notifications(batch_id=batch["id"]))) == 3

    cancelled = client.cancel_batch(batch["id"])
    assert (cancelled["status"], cancelled["counts"]["cancelled"]) == ("cancelled", 3)


def test_send_batch_takes_csv_and_an_idempotency_key(client, template_id):  # noqa: F811
    csv = "target,name\na@example.com,A\nb@example.com,B\n"
    first = client.send_batch(template_id=template_id, csv=csv, idempotency_key="csv-1")
    again = client.send_batch(template_id=template_id, csv=csv, idempotency_key="csv-1")
    assert again == first
    assert len(list(client.notifications())) == 2


def test_an_invalid_batch_raises_422_with_the_row_map(client, template_id):  # noqa: F811
    with pytest.raises(NotifierError) as caught:
        client.send_batch(template_id=template_id, recipients=[{"target": "nope"}])
    assert caught.value.status == 422
    assert set(caught.value.errors["json"]["recipients"]) == {"0"}


def test_cancel_a_pending_notification_then_409(client):  # noqa: F811
    sent = client.send(target="ada@example.com", **EMAIL)
    assert client.cancel(sent["id"])["status"] == "cancelled"
    with pytest.raises(NotifierError) as caught:
        client.cancel(sent["id"])
    assert caught.value.status == 409
