"""PUSH_PROVIDER=fcm against local fakes of FCM HTTP v1 and of Google's OAuth 2 token endpoint."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask

from delivery.providers import GATEWAY_EXTENSION, build_gateway
from delivery.providers.base import ProviderSettingsError
from delivery.providers.fcm import FCM_ERROR_TYPE, SCOPE
from tests.delivery.fakes.http_servers import HttpFake, RawFake, Seen

TOKEN = "device-token_" + "a1B2:c3.d4-" * 4
PUSH = {"channel": "push", "target": TOKEN, "title": "Hi", "content": "You have mail"}
SEND_PATH = "/v1/projects/demo-project/messages:send"
NAME = "projects/demo-project/messages/0:1500415314455276%31bd1c9631bd1c96"


def fcm_error(status: int, grpc: str, message: str, code: str | None = None) -> dict[str, Any]:
    """FCM v1's documented error body (with an FcmError detail when ``code`` is given)."""
    error: dict[str, Any] = {"code": status, "message": message, "status": grpc}
    if code:
        error["details"] = [{"@type": FCM_ERROR_TYPE, "errorCode": code}]
    return {"error": error}


class Google:
    """One fake for both hosts: the token endpoint (/token) and FCM (/v1/...)."""

    def __init__(self, public_key: bytes) -> None:
        self.public_key = public_key
        self.tokens_issued = 0
        self.token_reply: Callable[[Seen], tuple[int, Any, dict]] | None = None
        self.expires_in = 3600
        self.fcm_reply: Callable[[Seen], tuple[int, Any, dict]] = lambda seen: (
            200,
            {"name": NAME},
            {},
        )
        self.http = HttpFake().start()
        self.http.respond = self._respond

    @property
    def sends(self) -> list[Seen]:
        return [seen for seen in self.http.requests if seen.path.startswith("/v1/")]

    def _respond(self, seen: Seen) -> tuple[int, Any, dict]:
        if seen.path != "/token":
            return self.fcm_reply(seen)
        if self.token_reply:
            return self.token_reply(seen)
        assert seen.form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
        claims = jwt.decode(
            seen.form["assertion"],
            self.public_key,
            algorithms=["RS256"],
            audience="https://oauth2.googleapis.com/token",  # what google-auth always signs
        )
        assert claims["scope"] == SCOPE
        self.tokens_issued += 1
        token = {"access_token": f"access-{self.tokens_issued}", "token_type": "Bearer"}
        return 200, {**token, "expires_in": self.expires_in}, {}


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def google(key: rsa.RSAPrivateKey) -> Iterator[Google]:
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    fake = Google(public)
    yield fake
    fake.http.stop()


@pytest.fixture
def credentials_file(tmp_path: Path, key: rsa.RSAPrivateKey, google: Google) -> Path:
    """A service-account file whose token_uri is the local fake (as google-auth reads it)."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path = tmp_path / "service-account.json"
    account = {
        "type": "service_account",
        "project_id": "demo-project",
        "private_key_id": "key-1",
        "private_key": pem,
        "client_email": "fcm-sender@demo-project.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": f"{google.http.url}/token",
    }
    path.write_text(json.dumps(account))
    return path


@pytest.fixture
def fcm_app(make_app, google: Google, credentials_file: Path) -> Iterator[Callable[..., Flask]]:
    apps: list[Flask] = []

    def _make(**overrides: Any) -> Flask:
        settings = {
            "PUSH_PROVIDER": "fcm",
            "FCM_PROJECT_ID": "demo-project",
            "FCM_CREDENTIALS_FILE": str(credentials_file),
            "FCM_API_BASE": google.http.url,
            "FCM_TIMEOUT_S": "0.5",
        }
        apps.append(make_app(**{**settings, **overrides}))
        return apps[-1]

    yield _make
    for app in apps:
        app.extensions[GATEWAY_EXTENSION].close()


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


def _token_violation() -> dict[str, Any]:
    """An INVALID_ARGUMENT whose google.rpc.BadRequest detail names the token field."""
    reply = fcm_error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.")
    reply["error"]["details"] = [
        {"@type": FCM_ERROR_TYPE, "errorCode": "INVALID_ARGUMENT"},
        {
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": "message.token", "description": "Invalid token"}],
        },
    ]
    return reply


@pytest.mark.parametrize(
    ("status", "reply", "kind"),
    [
        (
            404,
            fcm_error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED"),
            "target",
        ),
        (
            400,
            fcm_error(
                400,
                "INVALID_ARGUMENT",
                "The registration token is not a valid FCM registration token",
                "INVALID_ARGUMENT",
            ),
            "target",
        ),
        (400, fcm_error(400, "INVALID_ARGUMENT", "Invalid value at 'message.token'"), "target"),
        (400, _token_violation(), "target"),
        (
            400,
            fcm_error(
                400,
                "INVALID_ARGUMENT",
                "Invalid value at 'message.notification.title'",
                "INVALID_ARGUMENT",
            ),
            "message",
        ),
        (
            400,
            fcm_error(400, "INVALID_ARGUMENT", "Request contains an invalid argument."),
            "message",
        ),
    ],
)
def test_a_gone_token_or_an_invalid_message_is_rejected_saying_which(
    google: Google, fcm_app, assert_error, status: int, reply: dict, kind: str
) -> None:
    google.fcm_reply = lambda seen: (status, reply, {})
    body = assert_error(fcm_app().test_client().post("/deliver", json=PUSH), 422)
    assert reply["error"]["message"] in body["message"]
    assert body["rejected"] == kind
    assert "errors" not in body


@pytest.mark.parametrize(
    ("status", "reply"),
    [
        (
            401,
            fcm_error(
                401,
                "UNAUTHENTICATED",
                "Auth error from APNS or Web Push Service",
                "THIRD_PARTY_AUTH_ERROR",
            ),
        ),
        (403, fcm_error(403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH")),
        (403, fcm_error(403, "PERMISSION_DENIED", "Permission denied on the project")),
        (404, fcm_error(404, "NOT_FOUND", "Requested entity was not found.")),  # wrong project
    ],
)
def test_refused_credentials_are_a_503_and_an_error_log(
    google: Google, fcm_app, assert_error, caplog, status: int, reply: dict
) -> None:
    google.fcm_reply = lambda seen: (status, reply, {})
    with caplog.at_level(logging.ERROR, logger="delivery.providers"):
        body = assert_error(fcm_app().test_client().post("/deliver", json=PUSH), 503)
    assert reply["error"]["message"] in body["message"]
    assert "configuration error" in caplog.text
    assert "access-" not in caplog.text  # no token in the logs


@pytest.mark.parametrize(
    ("status", "reply", "headers", "retry_after"),
    [
        (
            429,
            fcm_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded", "QUOTA_EXCEEDED"),
            {"Retry-After": "17"},
            "17",
        ),
        (
            503,
            fcm_error(503, "UNAVAILABLE", "The service is unavailable", "UNAVAILABLE"),
            {"Retry-After": "9"},
            "9",
        ),
        (500, fcm_error(500, "INTERNAL", "Internal error", "INTERNAL"), {}, None),
        (502, "<html>Bad Gateway</html>", {}, None),
        (400, "<html>not FCM</html>", {}, None),
    ],
)
def test_overload_and_outages_are_a_503_with_fcms_retry_after(
    google: Google, fcm_app, assert_error, status, reply, headers, retry_after
) -> None:
    google.fcm_reply = lambda seen: (status, reply, headers)
    response = fcm_app().test_client().post("/deliver", json=PUSH)
    assert_error(response, 503)
    if retry_after:
        assert response.headers["Retry-After"] == retry_after


@pytest.mark.parametrize(
    ("status", "reply", "words"),
    [
        (
            400,
            {"error": "invalid_grant", "error_description": "Invalid JWT Signature."},
            "configuration",
        ),
        (200, "this is not JSON", "unreadable"),
    ],
)
def test_a_token_endpoint_that_refuses_or_babbles_is_a_503_and_nothing_is_sent(
    google: Google, fcm_app, assert_error, status, reply, words: str
) -> None:
    google.token_reply = lambda seen: (status, reply, {})
    body = assert_error(fcm_app().test_client().post("/deliver", json=PUSH), 503)
    assert words in body["message"]
    assert google.sends == []


def test_a_hanging_fcm_is_a_503(google: Google, fcm_app, assert_error) -> None:
    google.fcm_reply = lambda seen: (200, "HANG", {})
    body = assert_error(fcm_app().test_client().post("/deliver", json=PUSH), 503)
    assert "did not answer" in body["message"]


@pytest.mark.parametrize(
    "reply",
    [
        b"garbage\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 300\r\n\r\n{",
    ],
)
def test_garbage_or_a_drop_mid_reply_is_a_503(fcm_app, assert_error, reply: bytes) -> None:
    raw = RawFake(reply).start()
    try:
        assert_error(fcm_app(FCM_API_BASE=raw.url).test_client().post("/deliver", json=PUSH), 503)
    finally:
        raw.stop()
    assert raw.connections == 1


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
