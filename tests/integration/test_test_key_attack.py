"""A test key cannot redirect a live notification to a real inbox.

The attack: a test key with the write scope PATCHes a live pending notification
with a new target and `scheduled_at: null`, so that the dispatcher sends it at
once through the real email provider. Here the provider is a real SMTP server
(aiosmtpd), behind the real delivery service and the dispatcher.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.delivery.fakes.smtp_server import SmtpServer

ATTACK = {"target": "attacker@example.net", "scheduled_at": None}


@pytest.fixture
def smtp(tmp_path) -> Iterator[SmtpServer]:
    server = SmtpServer(tmp_path, security="none", auth=False).start()
    yield server
    server.stop()


def test_a_test_keys_patch_of_a_live_notification_is_404_and_sends_nothing(
    api, smtp, start_delivery_thread, make_dispatcher
):
    delivery = start_delivery_thread(**smtp.settings())
    dispatcher = make_dispatcher(delivery.url)
    live = api.create(scheduled_at="2999-01-01T00:00:00+00:00").get_json()
    test_key = api.post("/api-keys", 201, json={"name": "CI", "mode": "test"}).get_json()["key"]

    response = api.client.patch(
        f"/notifications/{live['id']}",
        json=ATTACK,
        headers={"Authorization": f"Bearer {test_key}"},
    )
    dispatcher.run(once=True)

    assert smtp.received == []
    assert response.status_code == 404
    assert response.get_json()["code"] == 404
    assert api.get(f"/notifications/{live['id']}").get_json() == live


def test_the_same_edit_by_the_owner_is_sent_through_smtp(
    api, smtp, start_delivery_thread, make_dispatcher
):
    """The control: this stack does deliver a live edit, so the test above is not
    green merely because nothing could have been sent."""
    delivery = start_delivery_thread(**smtp.settings())
    live = api.create(scheduled_at="2999-01-01T00:00:00+00:00").get_json()

    api.patch(f"/notifications/{live['id']}", 200, json=ATTACK)
    make_dispatcher(delivery.url).run(once=True)

    assert [message.rcpt_tos for message in smtp.received] == [["attacker@example.net"]]
