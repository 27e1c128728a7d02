"""POST /receipts/twilio: hostile callbacks change nothing.

Unsigned, forged or replayed signatures are 403, malformed bodies and fields a clear
4xx, and without an auth token the route is 404; the signature follows Twilio's example.
"""

from __future__ import annotations

import base64

import pytest

from tests.notifier.receipts.twilio_support import FORM, SID, callback, params, sign, sms
from tests.receipt_support import row, suppressions_of

# Twilio's auth token and the public address, as the callbacks are signed with them.
pytestmark = pytest.mark.usefixtures("twilio")


def test_an_unsigned_callback_is_403_and_changes_nothing(client, user):
    nid = sms(user.id)

    response = callback(client, params("delivered"), signature=None)

    assert response.status_code == 403
    assert response.get_json()["code"] == 403
    assert row(nid).status == "sent"


@pytest.mark.parametrize(
    "signature",
    [
        sign(params("delivered"), token="another-account-token"),
        sign(params("delivered"), url="https://evil.example.com/receipts/twilio"),
        "",
        "x",
        "A" * 5000,
        base64.b64encode(b"\0" * 20).decode(),
        "é" * 28,
    ],
)
def test_a_forged_signature_is_403_and_changes_nothing(client, user, signature):
    nid = sms(user.id)

    response = callback(client, params("delivered"), signature=signature)

    assert response.status_code == 403
    assert row(nid).status == "sent"


def test_a_replayed_callback_with_a_changed_parameter_is_403(client, user):
    nid = sms(user.id)
    original = params("undelivered", ErrorCode="30008")
    signature = sign(original)

    changed = {**original, "ErrorCode": "21610"}
    response = callback(client, changed, signature=signature)
    added = callback(client, {**original, "Extra": "1"}, signature=signature)

    assert (response.status_code, added.status_code) == (403, 403)
    assert row(nid).status == "sent"
    assert suppressions_of(user.id) == []


def test_without_an_auth_token_the_route_is_404(app, client, user):
    nid = sms(user.id)
    app.config["TWILIO_AUTH_TOKEN"] = ""

    response = callback(client, params("delivered"))

    assert response.status_code == 404
    assert row(nid).status == "sent"


def _signed_raw(client, body: bytes, content_type: str = FORM, signature: str = "x"):
    return client.post(
        "/receipts/twilio",
        data=body,
        headers={"Content-Type": content_type, "X-Twilio-Signature": signature},
    )


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"MessageSid=SM1&MessageStatus=delivered&\xff\xfe=1", 400),
        (b"MessageSid=%ff%fe&MessageStatus=delivered", 400),
        (b"MessageSid=SM1&MessageSid=SM2&MessageStatus=delivered", 400),
        (b"&&==&", 400),
        (b"a=1&" * 200, 400),
        (b"MessageSid=" + b"A" * 70_000, 413),
    ],
)
def test_a_malformed_body_is_a_clear_4xx_and_changes_nothing(client, user, body, status):
    nid = sms(user.id)

    response = _signed_raw(client, body)

    assert response.status_code == status
    assert response.get_json()["code"] == status
    assert row(nid).status == "sent"


def test_a_body_that_is_not_a_form_is_415(client, user):
    response = _signed_raw(client, b'{"MessageSid": "SM1"}', content_type="application/json")

    assert response.status_code == 415
    assert response.get_json()["message"] == (
        "A Twilio callback is application/x-www-form-urlencoded."
    )


def test_a_malformed_callback_is_told_what_is_wrong(client, user):
    repeated = _signed_raw(client, b"MessageSid=SM1&MessageSid=SM2&MessageStatus=delivered")
    no_sid = callback(client, {"MessageStatus": "delivered"})

    assert repeated.get_json()["message"] == "A callback parameter is repeated."
    assert no_sid.get_json()["message"] == "MessageSid is missing or not a message id."


@pytest.mark.parametrize(
    "bad",
    [
        {"MessageSid": "SM\x00" + "0" * 30, "MessageStatus": "delivered"},
        {"MessageSid": "SM" + "0" * 100, "MessageStatus": "delivered"},
        {"MessageSid": SID, "MessageStatus": "delivered\x00"},
        {"MessageSid": SID, "MessageStatus": "undelivered", "ErrorCode": "x" * 20},
        {"MessageStatus": "delivered"},
    ],
)
def test_a_signed_callback_with_malformed_fields_is_400_and_changes_nothing(client, user, bad):
    nid = sms(user.id)

    response = callback(client, bad)

    assert response.status_code == 400
    assert row(nid).status == "sent"


def test_the_signature_matches_twilios_published_example():
    # Twilio's own example (its helper libraries' docs): token 12345, this URL and form.
    from notifier.receipts.twilio import signature

    form = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675309",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"

    assert signature("12345", url, form) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert sign(form, token="12345", url=url) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
