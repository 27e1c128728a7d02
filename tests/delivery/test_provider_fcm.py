"""PUSH_PROVIDER=fcm against local fakes of FCM HTTP v1 and of Google's OAuth 2 token
endpoint: a push is sent, the access token is cached and renewed, sandbox stays local.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from delivery.providers import build_gateway
from delivery.providers.base import ProviderSettingsError
from tests.delivery.fakes.http_servers import HttpFake, Seen
from tests.delivery.fcm_support import NAME, PUSH, SEND_PATH, TOKEN, Google, fcm_error


def test_a_push_is_sent_with_fcms_name(google: Google, fcm_app) -> None:
    response = fcm_app().test_client().post("/deliver", json=PUSH)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["provider_message_id"] == NAME
    assert body["details"]["provider"] == "fcm"
    [send] = google.sends
    assert send.path == SEND_PATH
    assert send.json == {
        "message": {"token": TOKEN, "notification": {"title": "Hi", "body": "You have mail"}}
    }
    assert send.headers["Authorization"] == "Bearer access-1"


def test_the_access_token_is_cached_until_it_expires(google: Google, fcm_app) -> None:
    client = fcm_app().test_client()
    for _ in range(3):
        assert client.post("/deliver", json=PUSH).status_code == 200
    assert google.tokens_issued == 1

    google.expires_in = 60  # within google-auth's refresh margin: renewed before every use
    client = fcm_app().test_client()
    for _ in range(2):
        assert client.post("/deliver", json=PUSH).status_code == 200
    assert google.tokens_issued == 1 + 2


def test_the_token_uri_can_be_overridden(google: Google, fcm_app, tmp_path: Path) -> None:
    elsewhere = HttpFake().start()
    try:
        elsewhere.respond = lambda seen: (200, {"access_token": "other", "expires_in": 3600}, {})
        response = (
            fcm_app(FCM_TOKEN_URI=f"{elsewhere.url}/token")
            .test_client()
            .post("/deliver", json=PUSH)
        )
    finally:
        elsewhere.stop()
    assert response.status_code == 200
    assert google.sends[0].headers["Authorization"] == "Bearer other"


def test_a_401_gets_a_fresh_token_once(google: Google, fcm_app) -> None:
    def reply(seen: Seen) -> tuple[int, Any, dict]:
        if seen.headers["Authorization"] == "Bearer access-1":  # revoked early
            return 401, fcm_error(401, "UNAUTHENTICATED", "Request had invalid credentials."), {}
        return 200, {"name": NAME}, {}

    google.fcm_reply = reply
    response = fcm_app().test_client().post("/deliver", json=PUSH)
    assert response.status_code == 200
    assert google.tokens_issued == 2
    assert len(google.sends) == 2


def test_sandbox_never_reaches_fcm(google: Google, fcm_app) -> None:
    response = fcm_app().test_client().post("/deliver", json={**PUSH, "sandbox": True})
    assert response.get_json()["details"]["provider"] == "simulator"
    assert google.http.requests == []


def test_an_unreadable_credentials_file_stops_startup(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    settings = {"PUSH_PROVIDER": "fcm", "FCM_PROJECT_ID": "p", "FCM_CREDENTIALS_FILE": str(broken)}
    with pytest.raises(ProviderSettingsError, match="FCM_CREDENTIALS_FILE"):
        build_gateway(settings)
    with pytest.raises(ProviderSettingsError, match="FCM_CREDENTIALS_FILE"):
        build_gateway({**settings, "FCM_CREDENTIALS_FILE": str(tmp_path / "missing.json")})
