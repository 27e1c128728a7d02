"""PUSH_PROVIDER=fcm: how FCM's and the token endpoint's refusals, outages and garbage
become the delivery service's answers (422 saying which part, or 503).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from delivery.providers.fcm import FCM_ERROR_TYPE
from tests.delivery.fakes.http_servers import RawFake
from tests.delivery.fcm_support import PUSH, Google, fcm_error


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
