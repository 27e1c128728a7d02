"""Channel rules (notifier.channels): email, phone and push-token targets, per channel."""

from __future__ import annotations

import pytest

from notifier.channels import (
    ChannelError,
    normalize_email,
    normalize_phone,
    normalize_target,
    validate_push_token,
)

# --- email -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Foo@EXAMPLE.com", "Foo@example.com"),
        ("user@example.com", "user@example.com"),
        ("reject@example.com", "reject@example.com"),
        ("first.last+tag@sub.example.org", "first.last+tag@sub.example.org"),
        ("  padded@example.com  ", "padded@example.com"),
        ("ü@exämple.com", "ü@exämple.com"),
    ],
)
def test_valid_email_is_normalized(raw: str, normalized: str) -> None:
    assert normalize_email(raw) == normalized


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "plainaddress",
        "@example.com",
        "user@",
        "user@example",
        "user@localhost",
        "user@site.test",
        "two@@example.com",
        "a b@example.com",
        "Foo <foo@example.com>",
        "user@example.com.",
        "nul\x00@example.com",
        "user@example.com\x00",
        "line\n@example.com",
        "user@example.com\r\nBcc: x@example.com",
        "tab\t@example.com",
        "\ud800@example.com",
        "x" * 250 + "@example.com",  # over 254 characters in all
        "a@" + "b" * 300 + ".com",
        "a" * 5000 + "@example.com",
    ],
)
def test_invalid_email_is_refused_on_the_target(raw: str) -> None:
    with pytest.raises(ChannelError) as caught:
        normalize_email(raw)
    assert caught.value.field == "target"
    assert caught.value.message


@pytest.mark.parametrize("value", [None, 42, b"a@example.com"])
def test_email_of_the_wrong_type_is_refused(value: object) -> None:
    with pytest.raises(ChannelError):
        normalize_email(value)  # type: ignore[arg-type]


# --- phone -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+14155552671", "+14155552671"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("+1-415-555-2671", "+14155552671"),
        ("+1.415.555.2671", "+14155552671"),
        (" +14155552671 ", "+14155552671"),
        ("+44 7911 123456", "+447911123456"),
        ("+49 151 12345678", "+4915112345678"),
        ("+33 6 12 34 56 78", "+33612345678"),
        # Simulator hook numbers must validate, or the hooks could never be reached.
        ("+15005550001", "+15005550001"),
        ("+15005550002", "+15005550002"),
    ],
)
def test_valid_phone_is_normalized_to_e164(raw: str, e164: str) -> None:
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("4155552671", "national form"),
        ("(415) 555-2671", "national form with punctuation"),
        ("0044 7911 123456", "international prefix instead of +"),
        ("+19005550100", "premium rate"),
        ("+1 900 555 0100", "premium rate, formatted"),
        ("+1415555267", "too short"),
        ("+141555526710000", "too long"),
        ("+", "no digits"),
        ("+0 123", "no such country"),
        ("+1-800-FLOWERS", "letters (vanity number)"),
        ("+1 415 555 2671 ext. 12", "extension would be dropped"),
        ("+1 415 555 2671;ext=12", "RFC 3966 extension"),
        ("tel:+14155552671", "URI"),
        ("++14155552671", "double plus"),
        ("+14155552671\x00", "NUL"),
        ("+1415555\n2671", "line break"),
        (
            "+\uff11\uff14\uff11\uff15\uff15\uff15\uff15\uff12\uff16\uff17\uff11",
            "full-width digits",
        ),
        ("+" + "1" * 64, "over 64 characters"),
        ("+1 " + " " * 100 + "4155552671", "padding past the length limit"),
        ("", "empty"),
        ("   ", "blank"),
    ],
)
def test_invalid_phone_is_refused_on_the_target(raw: str, why: str) -> None:
    with pytest.raises(ChannelError) as caught:
        normalize_phone(raw)
    assert caught.value.field == "target", why
    assert caught.value.message


def test_premium_rate_refusal_says_so() -> None:
    with pytest.raises(ChannelError, match="Premium-rate"):
        normalize_phone("+19005550100")


def test_national_form_refusal_asks_for_international_form() -> None:
    with pytest.raises(ChannelError, match="international form"):
        normalize_phone("4155552671")


@pytest.mark.parametrize("value", [None, 14155552671, ["+14155552671"]])
def test_phone_of_the_wrong_type_is_refused(value: object) -> None:
    with pytest.raises(ChannelError):
        normalize_phone(value)  # type: ignore[arg-type]


# --- push token --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "a" * 32,
        "Z" * 4096,
        "abcXYZ019_:-." * 3,
        "fcm:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx2_sf7zSmmCRaZ3.Y_dAbc",
        "reject" + "x" * 26,
    ],
)
def test_valid_push_token_is_returned_unchanged(token: str) -> None:
    assert validate_push_token(token) == token


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a" * 31,
        "a" * 4097,
        "a" * 31 + " ",
        "a" * 31 + "/",
        "a" * 31 + "+",
        "a" * 31 + "=",
        "a" * 31 + "é",
        "a" * 32 + "\n",
        "a" * 32 + "\x00",
        " " + "a" * 32,
    ],
)
def test_invalid_push_token_is_refused_on_the_target(token: str) -> None:
    with pytest.raises(ChannelError) as caught:
        validate_push_token(token)
    assert caught.value.field == "target"


# --- normalize_target --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "target", "expected"),
    [
        ("email", "Foo@EXAMPLE.com", "Foo@example.com"),
        ("sms", "+1 (415) 555-2671", "+14155552671"),
        ("push", "t" * 40, "t" * 40),
    ],
)
def test_normalize_target_dispatches_on_the_channel(
    channel: str, target: str, expected: str
) -> None:
    assert normalize_target(channel, target) == expected


@pytest.mark.parametrize(
    ("channel", "target"),
    [("email", "+14155552671"), ("sms", "user@example.com"), ("push", "user@example.com")],
)
def test_target_of_another_channel_is_refused(channel: str, target: str) -> None:
    with pytest.raises(ChannelError) as caught:
        normalize_target(channel, target)
    assert caught.value.field == "target"


def test_unknown_channel_is_refused_on_the_channel() -> None:
    with pytest.raises(ChannelError) as caught:
        normalize_target("fax", "+14155552671")
    assert caught.value.field == "channel"
