"""Channel rules shared by the Notification API and the delivery service.

This package is deliberately pure: standard library, ``email_validator`` and
``phonenumbers`` only, no Flask and no SQLAlchemy. The API checks notifications
with it when they are created or edited, and the delivery service (which may
import nothing else from ``notifier``) applies the same rules before it "sends".
One home per rule keeps the two services from disagreeing about, say, how many
SMS segments a message needs.

Every failure raises :class:`ChannelError`, a ``ValueError`` that names the
field at fault (``target``, ``title``, ``content`` or ``channel``) and carries a
sentence meant for a person. Messages never echo the offending value back.

Callers import every rule from here. Each has one home: the characters a text may
hold in `text`, email addresses in `email_address`, the error in `errors`; phone
numbers, device tokens, SMS segments and payload sizes in this file.
"""

from __future__ import annotations

import json
import math
import re

import phonenumbers

from notifier.channels.email_address import normalize_email
from notifier.channels.errors import ChannelError
from notifier.channels.text import (
    body_problem,
    check_body,
    check_single_line,
    has_lone_surrogate,
    single_line_problem,
)

__all__ = [
    "CHANNELS",
    "EMAIL",
    "PUSH",
    "SMS",
    "ChannelError",
    "body_problem",
    "check_body",
    "check_content",
    "check_single_line",
    "normalize_email",
    "normalize_phone",
    "normalize_target",
    "push_payload_size",
    "single_line_problem",
    "sms_encoding",
    "sms_segments",
    "validate_push_token",
]

EMAIL, SMS, PUSH = "email", "sms", "push"
CHANNELS = (EMAIL, SMS, PUSH)

MAX_SMS_SEGMENTS = 10
MAX_PUSH_PAYLOAD_BYTES = 4096

GSM_7 = "GSM-7"
UCS_2 = "UCS-2"

# Single-segment and per-part (concatenated, with a user data header) capacities.
GSM_SINGLE_SEGMENT_SEPTETS = 160
GSM_MULTIPART_SEGMENT_SEPTETS = 153
UCS2_SINGLE_SEGMENT_UNITS = 70
UCS2_MULTIPART_SEGMENT_UNITS = 67

PUSH_TOKEN_MIN_LENGTH = 32
PUSH_TOKEN_MAX_LENGTH = 4096

# Longer inputs are refused before any parser sees them: no real number comes
# close, and it keeps the cost of a hostile 256 KiB target flat.
_MAX_PHONE_INPUT_LENGTH = 64

# GSM 03.38 (3GPP TS 23.038) default alphabet, in code order 0x00-0x7F, without
# 0x1B (the escape to the extension table, not a character of its own). Note
# 0x09 is the capital Ç, and 0x0A/0x0D are line feed and carriage return.
GSM_BASIC_CHARS = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"  # 0x10-0x1F, 0x1B (escape) left out
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

# The extension table: each character is sent as escape + code, so it costs two
# septets. The documented list is ^ { } \ [ ~ ] | €; form feed (escape + 0x0A) is in
# the same table, so it is GSM-7 too and also counts two.
GSM_EXTENSION_CHARS = frozenset("\x0c^{}\\[~]|€")

_PUSH_TOKEN_RE = re.compile(r"[A-Za-z0-9_:.\-]+")
# International form only: a leading "+", then digits and the usual separators.
# Letters are refused on purpose: phonenumbers would read "+1-800-FLOWERS" as a
# vanity number and silently drop an "ext. 12", which is not what a user meant.
_PHONE_INPUT_RE = re.compile(r"\+[0-9 ().\-]+")


def normalize_phone(value: str) -> str:
    """Validate a phone number in international form and return it as E.164.

    The input must start with ``+`` and the country code; spaces, dashes, dots
    and parentheses are allowed (``"+1 (415) 555-2671"`` → ``"+14155552671"``).
    National forms, letters and extensions are refused, as are numbers that
    ``phonenumbers`` does not consider valid and premium-rate numbers.
    """
    if not isinstance(value, str) or not value.strip():
        raise ChannelError("target", "A phone number is required.")
    if len(value) > _MAX_PHONE_INPUT_LENGTH:
        raise ChannelError("target", "The phone number is too long.")
    candidate = value.strip()
    if not candidate.startswith("+"):
        raise ChannelError(
            "target",
            "The phone number must be in international form: '+' and the country code, "
            "such as +14155552671.",
        )
    if not _PHONE_INPUT_RE.fullmatch(candidate):
        raise ChannelError(
            "target",
            "The phone number may contain only '+', digits, spaces, dashes, dots and parentheses.",
        )
    try:
        number = phonenumbers.parse(candidate, None)
        valid = phonenumbers.is_valid_number(number)
        number_type = phonenumbers.number_type(number) if valid else None
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    except Exception:  # phonenumbers raises NumberParseException and, on odd input, others
        raise ChannelError("target", "The phone number is not valid.") from None
    if not valid:
        raise ChannelError("target", "The phone number is not valid.")
    if number_type == phonenumbers.PhoneNumberType.PREMIUM_RATE:
        raise ChannelError("target", "Premium-rate phone numbers are not accepted.")
    return e164


def validate_push_token(value: str) -> str:
    """Check a device token: 32 to 4096 characters from ``A-Z a-z 0-9 _ : - .``; return it as is."""
    if not isinstance(value, str) or not value:
        raise ChannelError("target", "A device token is required.")
    if not PUSH_TOKEN_MIN_LENGTH <= len(value) <= PUSH_TOKEN_MAX_LENGTH:
        raise ChannelError(
            "target",
            f"A device token must be {PUSH_TOKEN_MIN_LENGTH} to {PUSH_TOKEN_MAX_LENGTH} "
            "characters long.",
        )
    if not _PUSH_TOKEN_RE.fullmatch(value):
        raise ChannelError(
            "target",
            "A device token may contain only letters, digits, '_', ':', '-' and '.'.",
        )
    return value


def normalize_target(channel: str, target: str) -> str:
    """Validate ``target`` for ``channel`` and return its normalised form.

    An unknown channel raises ``ChannelError("channel", ...)``.
    """
    if channel == EMAIL:
        return normalize_email(target)
    if channel == SMS:
        return normalize_phone(target)
    if channel == PUSH:
        return validate_push_token(target)
    raise ChannelError("channel", f"The channel must be one of: {', '.join(CHANNELS)}.")


def sms_encoding(text: str) -> str:
    """``"GSM-7"`` if every character is in the GSM 03.38 basic set or extension table, else
    ``"UCS-2"``."""
    if all(char in GSM_BASIC_CHARS or char in GSM_EXTENSION_CHARS for char in text):
        return GSM_7
    return UCS_2


def _utf16_units(text: str) -> int:
    # Characters outside the Basic Multilingual Plane (most emoji) take a surrogate pair.
    return sum(2 if ord(char) > 0xFFFF else 1 for char in text)


def sms_segments(text: str) -> tuple[str, int]:
    """Return ``(encoding, segments)`` for an SMS body.

    GSM-7: extension characters count two septets; up to 160 septets is one
    segment, more is ⌈n/153⌉. UCS-2: n is the number of UTF-16 code units
    (an emoji outside the BMP counts two); up to 70 is one segment, more is
    ⌈n/67⌉. Empty text is one segment: a provider still sends one (empty) message.
    """
    encoding = sms_encoding(text)
    if encoding == GSM_7:
        length = sum(2 if char in GSM_EXTENSION_CHARS else 1 for char in text)
        single, multipart = GSM_SINGLE_SEGMENT_SEPTETS, GSM_MULTIPART_SEGMENT_SEPTETS
    else:
        length = _utf16_units(text)
        single, multipart = UCS2_SINGLE_SEGMENT_UNITS, UCS2_MULTIPART_SEGMENT_UNITS
    if length <= single:
        return encoding, 1
    return encoding, math.ceil(length / multipart)


def push_payload_size(title: str, body: str) -> int:
    """Bytes of the UTF-8 JSON payload ``{"title": ..., "body": ...}``.

    Compact separators and no ``\\u`` escapes, so a multibyte character counts
    its UTF-8 bytes, while quotes, backslashes and control characters count
    their JSON escapes. A lone surrogate (invalid text, refused by
    :func:`check_content`) counts three bytes rather than raising.
    """
    payload = json.dumps({"title": title, "body": body}, ensure_ascii=False, separators=(",", ":"))
    return len(payload.encode("utf-8", errors="surrogatepass"))


def check_content(channel: str, title: str, content: str) -> None:
    """Apply the channel's size limits to a message; raise :class:`ChannelError` if broken.

    - every channel: ``title`` and ``content`` must be valid Unicode (no lone
      UTF-16 surrogates, which JSON can smuggle in as ``"\\ud800"`` and which
      cannot be encoded, stored or sent); the ``title`` holds no control character
      and the ``content`` none but line breaks and tabs (see :func:`check_single_line`);
    - sms: ``content`` alone must fit in :data:`MAX_SMS_SEGMENTS` segments;
    - push: the ``{"title", "body"}`` payload must fit in :data:`MAX_PUSH_PAYLOAD_BYTES`;
    - email: nothing more here (the API's schema and the delivery rules hold its limits).
    """
    if channel not in CHANNELS:
        raise ChannelError("channel", f"The channel must be one of: {', '.join(CHANNELS)}.")
    if title and has_lone_surrogate(title):
        raise ChannelError("title", "The title contains characters that are not valid Unicode.")
    if has_lone_surrogate(content):
        raise ChannelError("content", "The content contains characters that are not valid Unicode.")
    if title:
        check_single_line("title", title)
    check_body("content", content)
    if channel == SMS:
        encoding, segments = sms_segments(content)
        if segments > MAX_SMS_SEGMENTS:
            raise ChannelError(
                "content",
                f"The SMS needs {segments} segments ({encoding}); "
                f"at most {MAX_SMS_SEGMENTS} are allowed.",
            )
    elif channel == PUSH:
        size = push_payload_size(title or "", content)
        if size > MAX_PUSH_PAYLOAD_BYTES:
            raise ChannelError(
                "content",
                f"The push payload (title and content as JSON) is {size} bytes; "
                f"at most {MAX_PUSH_PAYLOAD_BYTES} are allowed.",
            )
