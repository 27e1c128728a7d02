"""A client generated from /openapi.json works against the real server.

openapi-python-client turns the document into a typed client that parses every
answer by the document: a field that comes back `null` where the document does
not allow it, a status the document does not list, or an enum value it does not
name makes the client raise. The walk below is a newcomer's first session:
register, log in, create, list, read, a 404 and a 422, each answer parsed.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.live_server import running_api

# Not notifier_client: that is the project's own client (clients/python), installed in the suite.
PACKAGE = "generated_notifier_client"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")


@pytest.fixture
def base_url(tmp_path):
    with running_api(tmp_path) as url:
        yield url


@pytest.fixture
def generated(base_url, tmp_path, monkeypatch):
    """The client package generated from the server's document, imported."""
    document = tmp_path / "openapi.json"
    document.write_bytes(requests.get(f"{base_url}/openapi.json", timeout=10).content)
    config = tmp_path / "generator.yaml"
    config.write_text("post_hooks: []\n")  # no formatter run: the code is only imported
    arguments = ["--path", document, "--output-path", tmp_path / PACKAGE, "--meta", "none"]
    result = subprocess.run(
        [GENERATOR, "generate", *arguments, "--config", config],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # It warns about what it could not generate; nothing may be left out.
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    monkeypatch.syspath_prepend(str(tmp_path))
    yield importlib.import_module(PACKAGE)
    for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
        del sys.modules[name]


def _module(package, name: str):
    return importlib.import_module(f"{package.__name__}.{name}")


def test_a_generated_client_walks_register_login_create_list_get_404_422(base_url, generated):
    client_module = _module(generated, "client")
    models = _module(generated, "models")
    users = _module(generated, "api.users.post_users")
    login = _module(generated, "api.auth.post_auth_login")
    create = _module(generated, "api.notifications.post_notifications")
    listing = _module(generated, "api.notifications.get_notifications")
    reading = _module(generated, "api.notifications.get_notifications_notification_id")

    anonymous = client_module.Client(base_url=base_url, raise_on_unexpected_status=True)
    registered = users.sync_detailed(
        client=anonymous,
        body=models.UserCreate(name="Ada", email="ada@example.com", password="correct horse"),
    )
    assert registered.status_code == 201
    assert isinstance(registered.parsed, models.User)
    assert registered.parsed.email == "ada@example.com"

    tokens = login.sync_detailed(
        client=anonymous, body=models.Login(email="ada@example.com", password="correct horse")
    )
    assert tokens.status_code == 200
    assert isinstance(tokens.parsed, models.Tokens)
    api = client_module.AuthenticatedClient(
        base_url=base_url, token=tokens.parsed.access_token, raise_on_unexpected_status=True
    )

    body = models.NotificationCreate(
        title="Your order has shipped",
        content="It arrives on Tuesday.",
        channel=models.NotificationCreateChannel.EMAIL,
        target="ada@example.com",
    )
    created = create.sync_detailed(client=api, body=body)
    assert created.status_code == 201
    notification = created.parsed
    assert isinstance(notification, models.Notification)
    # The answers that made the first generated clients crash: nulls and enums.
    assert notification.scheduled_at is None
    assert notification.sent_at is None
    assert notification.api_key_id is None
    assert notification.status is models.NotificationStatus.PENDING
    assert notification.channel is models.NotificationChannel.EMAIL

    listed = listing.sync_detailed(client=api)
    assert listed.status_code == 200
    assert [item.id for item in listed.parsed] == [notification.id]

    read = reading.sync_detailed(notification_id=notification.id, client=api)
    assert read.status_code == 200
    assert read.parsed == notification

    missing = reading.sync_detailed(notification_id=notification.id + 1000, client=api)
    assert missing.status_code == 404
    assert isinstance(missing.parsed, models.Error)
    assert (missing.parsed.code, missing.parsed.status) == (404, "Not Found")

    invalid = create.sync_detailed(
        client=api, body=models.NotificationCreate.from_dict({**body.to_dict(), "title": "   "})
    )
    assert invalid.status_code == 422
    assert isinstance(invalid.parsed, models.Error)
    assert "title" in invalid.parsed.errors.to_dict()["json"]
