"""POST /receipts/twilio: Twilio's signed status callbacks, and hostile ones.

The expected signature is computed here from Twilio's documented algorithm
(HMAC-SHA1 keyed with the auth token over the URL followed by each parameter's
name and value, sorted by name; base64), independently of the API's code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from tests.conftest import postgres_only
from tests.factories import UserFactory
from tests.locking import answer_after_commit
from tests.receipt_support import events_of, row, sent_notification, suppressions_of
from tests.webhook_support import make_webhook

TOKEN = "twilio-test-auth-token-0123456789"
BASE = "https://notify.example.com"
URL = f"{BASE}/receipts/twilio"
SID = "SM0123456789abcdef0123456789abcdef"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture(autouse=True)
def twilio(app) -> Iterator[None]:
    saved = {k: app.config.get(k) for k in ("TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL")}
    app.config.update(TWILIO_AUTH_TOKEN=TOKEN, PUBLIC_BASE_URL=BASE)
    yield
    app.config.update(saved)


def sign(params: dict[str, str], token: str = TOKEN, url: str = URL) -> str:
    data = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def callback(client, params: dict[str, str], signature: str | None = "sign", body=None):
    headers = {"Content-Type": FORM}
    if signature == "sign":
        signature = sign(params)
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    data = urlencode(params).encode() if body is None else body
    return client.post("/receipts/twilio", data=data, headers=headers)


def params(status: str, sid: str = SID, **extra: str) -> dict[str, str]:
    return {
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "MessageSid": sid,
        "MessageStatus": status,
        "To": "+14155550100",
        **extra,
    }


def sms(user_id: int, sid: str = SID, **fields) -> int:
    return sent_notification(user_id, sid, channel="sms", target="+14155550100", **fields)


def test_a_signed_delivered_callback_delivers_the_sms(client, user, api):
    make_webhook(api)
    nid = sms(user.id)

    response = callback(client, params("delivered"))

    assert response.status_code == 204
    assert row(nid).status == "delivered"
    assert row(nid).delivered_at is not None
    assert events_of(nid) == ["notification.delivered"]


@pytest.mark.parametrize("status", ["undelivered", "failed"])
def test_a_signed_failed_callback_fails_the_sms_naming_the_error_code(client, user, status):
    nid = sms(user.id)

    response = callback(client, params(status, ErrorCode="30008"))

    assert response.status_code == 204
    assert row(nid).status == "failed"
    assert "30008" in row(nid).error_message
    assert suppressions_of(user.id) == []  # 30008 is not permanent


@pytest.mark.parametrize("code", ["21211", "21610", "21612", "21614", "30003", "30005", "30006"])
def test_a_permanent_twilio_error_suppresses_the_number(client, user, code):
    nid = sms(user.id)

    callback(client, params("undelivered", ErrorCode=code))

    [entry] = suppressions_of(user.id)
    assert (entry.channel, entry.target, entry.reason) == ("sms", "+14155550100", "receipt")
    assert entry.notification_id == nid


@pytest.mark.parametrize("status", ["queued", "sending", "sent", "read", "accepted"])
def test_other_statuses_change_nothing(client, user, status):
    nid = sms(user.id)

    assert callback(client, params(status)).status_code == 204

    assert row(nid).status == "sent"


def test_a_callback_for_an_unknown_message_does_nothing(client, user):
    nid = sms(user.id)

    response = callback(client, params("delivered", sid="SM" + "f" * 32))

    assert response.status_code == 204
    assert row(nid).status == "sent"


def test_a_callback_never_touches_a_sandbox_or_email_notification(client, user):
    sandbox = sms(user.id, sandbox=True)
    email = sent_notification(user.id, "SM" + "e" * 32)

    callback(client, params("delivered"))
    callback(client, params("delivered", sid="SM" + "e" * 32))

    assert (row(sandbox).status, row(email).status) == ("sent", "sent")


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


def test_a_callback_for_another_accounts_message_moves_only_that_one(client, user):
    mine = sms(user.id)
    theirs = sms(UserFactory().id, sid="SM" + "1" * 32)

    callback(client, params("delivered", sid="SM" + "1" * 32))

    assert (row(mine).status, row(theirs).status) == ("sent", "delivered")


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


def test_a_repeated_callback_changes_nothing_and_writes_no_second_event(client, user, api):
    make_webhook(api)
    nid = sms(user.id)
    assert callback(client, params("delivered")).status_code == 204
    delivered_at = row(nid).delivered_at
    assert callback(client, params("delivered")).status_code == 204
    assert callback(client, params("undelivered", ErrorCode="30003")).status_code == 204
    assert row(nid).status == "delivered"
    assert row(nid).delivered_at == delivered_at
    assert events_of(nid) == ["notification.delivered"]
    assert suppressions_of(user.id) == []


def test_a_user_without_a_webhook_gets_the_receipt_and_no_event(client, user):
    nid = sms(user.id)
    assert callback(client, params("delivered")).status_code == 204
    assert row(nid).status == "delivered"
    assert events_of(nid) == []


@postgres_only
def test_a_callback_racing_another_for_the_same_message_moves_it_once(app, client, user, api):
    """The first receipt's transaction holds the row; the second waits for it, reads
    the row again (no longer sent) and changes nothing: one move, one event."""
    from notifier.database import utcnow
    from notifier.extensions import db
    from notifier.notifications.lifecycle import Status
    from notifier.notifications.lifecycle.receipts import apply_receipt, live_sms

    make_webhook(api)
    nid = sms(user.id)
    with db.engine.connect() as first:
        transaction = first.begin()
        assert apply_receipt(first, live_sms(SID), Status.DELIVERED, utcnow()) == nid
        answer = answer_after_commit(
            transaction,
            lambda: callback(app.test_client(), params("failed")).status_code,
            "the first callback's row lock",
        )
    assert answer == 204
    assert row(nid).status == "delivered"
    assert events_of(nid) == ["notification.delivered"]
