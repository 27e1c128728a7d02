"""Helpers of the POST /receipts/twilio tests: sign and send a status callback.

The expected signature is computed here from Twilio's documented algorithm
(HMAC-SHA1 keyed with the auth token over the URL followed by each parameter's
name and value, sorted by name; base64), independently of the API's code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlencode

from tests.receipt_support import sent_notification

TOKEN = "twilio-test-auth-token-0123456789"
BASE = "https://notify.example.com"
URL = f"{BASE}/receipts/twilio"
SID = "SM0123456789abcdef0123456789abcdef"
FORM = "application/x-www-form-urlencoded"


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
