"""Which 422s blame the recipient and which blame the message: the one place that decides.

Every 422 of ``POST /deliver`` that is not a schema error says what was refused in
``rejected``, so that the sender can tell "do not write to this address again" from
"this message cannot be sent":

- ``"target"``: the provider refuses the recipient (an unknown mailbox, a number that
  cannot receive, a device token that is gone). Sending anything else to it would be
  refused too.
- ``"message"``: everything else: a channel rule (too many SMS segments, an email
  subject too long), a body or header the provider will not take, a policy refusal.

A provider's refusal is not a validation error, so its 422 (:func:`refused`) has no
``errors`` member. A channel rule *is* a check of one field of the request, so its 422
(:func:`invalid`) keeps ``errors`` naming that field, and says ``rejected: "message"``.

The providers hand their raw replies to the classifiers below (:func:`smtp_kind`,
:func:`twilio_kind`, :func:`fcm_kind`); the simulator's ``reject`` hook is a refusal of
the target by definition.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from delivery.idempotency import Answer

Kind = Literal["target", "message"]
TARGET: Kind = "target"
MESSAGE: Kind = "message"
KINDS = (TARGET, MESSAGE)


def refused(message: str, kind: Kind) -> Answer:
    """A provider refused for good: a 422 with ``rejected``, and no ``errors``."""
    return Answer(422, {"message": message, "rejected": kind})


def invalid(message: str, field: str | None = None) -> Answer:
    """A channel rule is broken: a 422 whose ``errors`` names ``field`` (when known),
    with ``rejected: "message"`` (the recipient is not at fault)."""
    body: dict[str, Any] = {"message": message, "rejected": MESSAGE}
    if field:
        body["errors"] = {"json": {field: [message]}}
    return Answer(422, body)


# --- SMTP -----------------------------------------------------------------------------------

# RFC 3463 enhanced status code at the start of the reply text: class.subject.detail.
_ENHANCED = re.compile(r"\s*([245])\.(\d{1,3})\.(\d{1,3})(?!\S)")
# X.1.7 and X.1.8 are about the *sender's* address, not the recipient's (RFC 3463).
_SENDER_ADDRESS_DETAILS = frozenset({7, 8})
# Basic codes that refuse the mailbox itself when the server gives no enhanced code:
# 550 mailbox unavailable, 551 user not local, 553 mailbox name not allowed (RFC 5321).
_RECIPIENT_BASIC_CODES = frozenset({550, 551, 553})


def smtp_kind(code: int, reply: str, stage: str) -> Kind:
    """The kind of a permanent (5xx) SMTP refusal.

    ``stage`` is the command refused: ``sender`` (MAIL), ``recipient`` (RCPT) or
    ``message`` (DATA). A refused MAIL is about our sender, never the recipient. Else
    an enhanced code 5.1.x (the address status class) blames the recipient, in answer
    to RCPT or DATA, except 5.1.7 and 5.1.8 (the sender's address). Without an
    enhanced code only 550, 551 and 553 in answer to RCPT do. Anything else (552, 554,
    5.6.x content, 5.7.x policy) blames the message.
    """
    if stage == "sender":
        return MESSAGE
    enhanced = _ENHANCED.match(reply)
    if enhanced:
        subject, detail = int(enhanced.group(2)), int(enhanced.group(3))
        if subject == 1 and detail not in _SENDER_ADDRESS_DETAILS:
            return TARGET
        return MESSAGE
    if stage == "recipient" and code in _RECIPIENT_BASIC_CODES:
        return TARGET
    return MESSAGE


# --- Twilio ---------------------------------------------------------------------------------

# The recipient cannot receive: an invalid, unreachable, landline, unsubscribed or
# not-permitted number (errors of the Messages API), and the delivery failures that a
# status callback reports for a number that is unknown, unreachable or not a mobile.
TWILIO_RECIPIENT_CODES = frozenset(
    {21211, 21214, 21217, 21265, 21266, 21408, 21608, 21610, 21612, 21614, 21635}
    | {30003, 30005, 30006}
)


def twilio_kind(code: object) -> Kind:
    """The kind of Twilio's refusal (a 400 with an error ``code``)."""
    return TARGET if code in TWILIO_RECIPIENT_CODES else MESSAGE


# --- FCM ------------------------------------------------------------------------------------

_BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
_TOKEN_WORD = re.compile(r"\btoken\b", re.IGNORECASE)


def fcm_kind(error_code: str, message: str, details: Iterable[Any]) -> Kind:
    """The kind of FCM's refusal.

    ``UNREGISTERED`` blames the token. So does an ``INVALID_ARGUMENT`` about the token:
    a ``BadRequest`` detail whose field violation is the message's ``token``, or an
    error message that speaks of the (registration) token. Any other invalid argument
    (a payload FCM will not take) blames the message.
    """
    if error_code == "UNREGISTERED":
        return TARGET
    for detail in details:
        if not isinstance(detail, Mapping) or detail.get("@type") != _BAD_REQUEST_TYPE:
            continue
        for violation in detail.get("fieldViolations") or []:
            field = violation.get("field") if isinstance(violation, Mapping) else None
            if isinstance(field, str) and field.rsplit(".", 1)[-1] == "token":
                return TARGET
    return TARGET if _TOKEN_WORD.search(message) else MESSAGE
