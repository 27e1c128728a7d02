"""Twilio's status callbacks: parse the form strictly and check its signature.

Twilio signs each callback with `X-Twilio-Signature`: the base64 of
HMAC-SHA1, keyed with the account's auth token, over the URL it called followed
by every POST parameter's name and value, sorted by name, without delimiters.
The expected value is computed here and compared in constant time.

The body is parsed by hand rather than by Werkzeug's form parser so that a
malformed body (not UTF-8, a broken percent escape, a repeated name) is a clear
400 instead of being silently repaired, and the signature is checked over
exactly the parameters that are then used.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from urllib.parse import parse_qsl

from werkzeug.exceptions import BadRequest, Forbidden, UnsupportedMediaType

from notifier.web import http_error

FORM = "application/x-www-form-urlencoded"
MAX_FIELDS = 100
# Twilio's SIDs (SM + 32 hex digits) and the simulator's ids (sim-<uuid>), which stand in
# for them wherever no Twilio account is configured.
MESSAGE_SID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,63}")
ERROR_CODE = re.compile(r"[0-9]{1,10}")
STATUS = re.compile(r"[A-Za-z_-]{1,32}")
# The same rules, anchored, for the OpenAPI document (JSON Schema patterns are not).
FORM_PATTERNS = {
    "MessageSid": f"^{MESSAGE_SID.pattern}$",
    "MessageStatus": f"^{STATUS.pattern}$",
    "ErrorCode": f"^{ERROR_CODE.pattern}$",
}


def signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """The signature Twilio sends for these parameters posted to `url`."""
    data = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def parse_form(content_type: str | None, body: bytes) -> dict[str, str]:
    """The callback's parameters; 415 for another media type, 400 for a malformed body."""
    if (content_type or "").split(";")[0].strip().lower() != FORM:
        raise http_error(UnsupportedMediaType, f"A Twilio callback is {FORM}.")
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=bool(text),
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise http_error(BadRequest, "The callback body is not a valid UTF-8 form.") from None
    params = dict(pairs)
    if len(params) != len(pairs):
        raise http_error(BadRequest, "A callback parameter is repeated.")
    return params


def check_signature(auth_token: str, url: str, params: Mapping[str, str], given: str | None):
    """403 unless `given` is the signature of these parameters posted to `url`."""
    expected = signature(auth_token, url, params).encode()
    try:
        received = (given or "").encode("ascii")
    except UnicodeEncodeError:
        received = b""
    if not given or not hmac.compare_digest(expected, received):
        raise http_error(Forbidden, "The X-Twilio-Signature header is missing or wrong.")


def message_fields(params: Mapping[str, str]) -> tuple[str, str, str | None]:
    """(MessageSid, MessageStatus, ErrorCode) of a signed callback; 400 when malformed."""
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    status = params.get("MessageStatus") or params.get("SmsStatus") or ""
    error_code = params.get("ErrorCode") or None
    if not MESSAGE_SID.fullmatch(sid):
        raise http_error(BadRequest, "MessageSid is missing or not a message id.")
    if not STATUS.fullmatch(status):
        raise http_error(BadRequest, "MessageStatus is missing or malformed.")
    if error_code is not None and not ERROR_CODE.fullmatch(error_code):
        raise http_error(BadRequest, "ErrorCode is not a number.")
    return sid, status, error_code
