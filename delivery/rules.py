"""The provider's channel rules, built on :mod:`notifier.channels`.

The API already checks notifications with the same functions when they are
created; the delivery service checks again because a provider cannot trust its
callers. The rules that only a provider applies (the email subject's form, the
email body size, an SMS target that is *already* E.164) live here; everything shared
comes from :mod:`notifier.channels`, the only module of ``notifier`` that
``delivery`` may import.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from notifier.channels import (
    EMAIL,
    PUSH,
    SMS,
    ChannelError,
    check_content,
    normalize_email,
    normalize_phone,
    push_payload_size,
    sms_segments,
    validate_push_token,
)

MAX_EMAIL_SUBJECT_CHARS = 200
MAX_EMAIL_BODY_BYTES = 100_000


class CheckedMessage(NamedTuple):
    """A message that passed its channel's rules: its normalised target and the 200 details."""

    target: str
    details: dict[str, Any]


def check_message(channel: str, target: str, title: str | None, content: str) -> CheckedMessage:
    """Apply the rules of ``channel``; raise :class:`ChannelError` naming the field at fault."""
    if channel == EMAIL:
        return _check_email(target, title, content)
    if channel == SMS:
        return _check_sms(target, title, content)
    if channel == PUSH:
        return _check_push(target, title, content)
    raise ChannelError("channel", "The channel must be one of: email, sms, push.")


def _check_email(target: str, title: str | None, content: str) -> CheckedMessage:
    """An email's title is its subject; an empty or absent title sends it without one."""
    address = normalize_email(target)
    title = title or ""
    check_content(EMAIL, title, content)
    if len(title) > MAX_EMAIL_SUBJECT_CHARS:
        raise ChannelError(
            "title",
            f"The email subject (title) has {len(title)} characters; "
            f"at most {MAX_EMAIL_SUBJECT_CHARS} are allowed.",
        )
    # check_content refused lone surrogates, so the body encodes cleanly.
    body_bytes = len(content.encode("utf-8"))
    if body_bytes > MAX_EMAIL_BODY_BYTES:
        raise ChannelError(
            "content",
            f"The email body is {body_bytes} bytes (UTF-8); "
            f"at most {MAX_EMAIL_BODY_BYTES} are allowed.",
        )
    return CheckedMessage(address, {"bytes": body_bytes})


def _check_sms(target: str, title: str | None, content: str) -> CheckedMessage:
    number = normalize_phone(target)
    if number != target:
        # A provider takes E.164 only; the API stores numbers that way, so this is a caller bug.
        raise ChannelError(
            "target",
            "The phone number must be in E.164 form, with no spaces or punctuation "
            "(such as +14155552671).",
        )
    # The SMS is the content alone; the title is not sent, but it is held to the same
    # characters as every title (the API refuses it on every channel too).
    check_content(SMS, title or "", content)
    encoding, segments = sms_segments(content)
    return CheckedMessage(number, {"encoding": encoding, "segments": segments})


def _check_push(target: str, title: str | None, content: str) -> CheckedMessage:
    token = validate_push_token(target)
    check_content(PUSH, title or "", content)
    return CheckedMessage(token, {"payload_bytes": push_payload_size(title or "", content)})
