"""Channel rules shared by the API and the delivery service (notifier.channels)."""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path

import pytest

from notifier import channels
from notifier.channels import (
    CHANNELS,
    EMAIL,
    MAX_PUSH_PAYLOAD_BYTES,
    MAX_SMS_SEGMENTS,
    PUSH,
    SMS,
    ChannelError,
    check_content,
    normalize_email,
    normalize_phone,
    normalize_target,
    push_payload_size,
    sms_encoding,
    sms_segments,
    validate_push_token,
)

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "\x0c^{}\\[~]|€"
EMOJI = "\U0001f600"  # 😀, outside the BMP: two UTF-16 code units


# --- constants ---------------------------------------------------------------------------


def test_constants_match_the_documented_rules() -> None:
    assert (EMAIL, SMS, PUSH) == ("email", "sms", "push")
    assert CHANNELS == ("email", "sms", "push")
    assert MAX_SMS_SEGMENTS == 10
    assert MAX_PUSH_PAYLOAD_BYTES == 4096


def test_channel_error_is_a_value_error_naming_its_field() -> None:
    error = ChannelError("content", "Too long.")
    assert isinstance(error, ValueError)
    assert (error.field, error.message, str(error)) == ("content", "Too long.", "Too long.")


@pytest.mark.parametrize(
    "path", sorted(Path(channels.__file__).parent.glob("*.py")), ids=lambda path: path.name
)
def test_package_imports_no_flask_or_sqlalchemy(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    own = {name for name in imported if name.startswith("notifier.channels.")}
    allowed_third_party = {"email_validator", "phonenumbers"}
    stdlib = {"__future__", "functools", "json", "math", "re", "unicodedata"}
    assert imported - own <= allowed_third_party | stdlib


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


# --- SMS encoding and segments -----------------------------------------------------------


def test_gsm_basic_set_has_127_characters_and_no_extension_overlap() -> None:
    # 128 codes minus 0x1B, the escape to the extension table.
    assert len(set(GSM_BASIC)) == 127
    assert frozenset(GSM_BASIC) == channels.GSM_BASIC_CHARS
    assert frozenset(GSM_EXTENSION) == channels.GSM_EXTENSION_CHARS


@pytest.mark.parametrize("char", list(GSM_BASIC))
def test_every_basic_gsm_character_is_gsm7_and_one_septet(char: str) -> None:
    assert sms_segments(char * 160) == ("GSM-7", 1)
    assert sms_segments(char * 161) == ("GSM-7", 2)


@pytest.mark.parametrize("char", list(GSM_EXTENSION))
def test_every_extension_character_is_gsm7_and_two_septets(char: str) -> None:
    assert sms_segments(char * 80) == ("GSM-7", 1)  # 160 septets
    assert sms_segments(char * 81) == ("GSM-7", 2)  # 162 septets


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("ç", "lower-case c cedilla is not in the table (only Ç is)"),
        ("á", "a acute"),
        ("\u2126", "ohm sign U+2126, not Greek capital omega U+03A9"),
        ("`", "backtick"),
        ("\t", "tab"),
        ("\x00", "NUL is not the GSM @ at 0x00"),
        ("\x1b", "the escape code itself"),
        ("\u2019", "curly apostrophe"),
        ("€uro ü ñ but 😀", "emoji"),
        ("Привет", "Cyrillic"),
        ("\ud800", "lone surrogate"),
    ],
)
def test_characters_outside_gsm_make_the_message_ucs2(text: str, why: str) -> None:
    assert sms_encoding(text) == "UCS-2", why


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ("GSM-7", 1)),  # documented choice: an empty message is still one message
        ("a", ("GSM-7", 1)),
        ("a" * 160, ("GSM-7", 1)),
        ("a" * 161, ("GSM-7", 2)),
        ("a" * 306, ("GSM-7", 2)),
        ("a" * 307, ("GSM-7", 3)),
        ("a" * 1530, ("GSM-7", 10)),
        ("a" * 1531, ("GSM-7", 11)),
        ("€" * 80, ("GSM-7", 1)),
        ("€" * 80 + "a", ("GSM-7", 2)),  # 161 septets
        ("a" * 159 + "^", ("GSM-7", 2)),  # 161 septets, 160 characters
        ("a" * 158 + "^", ("GSM-7", 1)),  # 160 septets
        ("[" * 765, ("GSM-7", 10)),  # 1530 septets
        ("[" * 765 + "a", ("GSM-7", 11)),  # 1531 septets
        ("ж" * 70, ("UCS-2", 1)),
        ("ж" * 71, ("UCS-2", 2)),
        ("ж" * 134, ("UCS-2", 2)),
        ("ж" * 135, ("UCS-2", 3)),
        ("ж" * 670, ("UCS-2", 10)),
        ("ж" * 671, ("UCS-2", 11)),
        (EMOJI * 35, ("UCS-2", 1)),  # 70 code units
        (EMOJI * 35 + "a", ("UCS-2", 2)),  # 71 code units
        (EMOJI * 335, ("UCS-2", 10)),  # 670 code units
        (EMOJI * 335 + "a", ("UCS-2", 11)),  # 671 code units
        ("a" * 69 + "ж", ("UCS-2", 1)),  # one non-GSM char makes the whole message UCS-2
        ("a" * 70 + "ж", ("UCS-2", 2)),
        ("{" * 35 + "ж" * 35, ("UCS-2", 1)),  # in UCS-2 an extension char is one unit
    ],
)
def test_sms_segments(text: str, expected: tuple[str, int]) -> None:
    assert sms_segments(text) == expected


@pytest.mark.parametrize("septets", range(150, 1700, 7))
def test_gsm_segment_formula_holds_over_a_range(septets: int) -> None:
    expected = 1 if septets <= 160 else math.ceil(septets / 153)
    assert sms_segments("x" * septets) == ("GSM-7", expected)


@pytest.mark.parametrize("units", range(60, 700, 7))
def test_ucs2_segment_formula_holds_over_a_range(units: int) -> None:
    expected = 1 if units <= 70 else math.ceil(units / 67)
    assert sms_segments("ж" * units) == ("UCS-2", expected)


# --- push payload ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "body", "size"),
    [
        ("", "", len('{"title":"","body":""}')),
        ("Hi", "There", len('{"title":"Hi","body":"There"}')),
        ("é", "", len('{"title":"","body":""}') + 2),  # 2 UTF-8 bytes, no \u escape
        ("", "€", len('{"title":"","body":""}') + 3),
        ("", EMOJI, len('{"title":"","body":""}') + 4),
        ('"', "", len('{"title":"","body":""}') + 2),  # \"
        ("\\", "", len('{"title":"","body":""}') + 2),  # \\
        ("\n", "", len('{"title":"","body":""}') + 2),  # \n
        ("\x01", "", len('{"title":"","body":""}') + 6),  # \u0001: control chars are escaped
    ],
)
def test_push_payload_size_counts_utf8_json_bytes(title: str, body: str, size: int) -> None:
    assert push_payload_size(title, body) == size


def test_push_payload_size_matches_json_dumps() -> None:
    title, body = 'Ünïcødé "quoted" \\ back', "€ and 😀 and\nnewline"
    payload = json.dumps({"title": title, "body": body}, ensure_ascii=False, separators=(",", ":"))
    assert push_payload_size(title, body) == len(payload.encode("utf-8"))


def test_push_payload_size_does_not_raise_on_a_lone_surrogate() -> None:
    assert push_payload_size("", "\ud800") == len('{"title":"","body":""}') + 3


# --- check_content -----------------------------------------------------------------------

OVERHEAD = len('{"title":"T","body":""}')  # 23 bytes around a one-letter title


def _body_for_payload(target_bytes: int, unit: str, unit_bytes: int) -> str:
    """A body of `unit`s plus ASCII padding so that the payload is exactly target_bytes."""
    room = target_bytes - OVERHEAD
    count, rest = divmod(room, unit_bytes)
    return unit * count + "a" * rest


@pytest.mark.parametrize(
    ("unit", "unit_bytes"),
    [("a", 1), ("é", 2), ("€", 3), (EMOJI, 4), ('"', 2), ("\\", 2), ("\n", 2)],
)
def test_push_payload_of_exactly_4096_bytes_passes_and_4097_fails(
    unit: str, unit_bytes: int
) -> None:
    fits = _body_for_payload(4096, unit, unit_bytes)
    assert push_payload_size("T", fits) == 4096
    check_content(PUSH, "T", fits)

    too_big = fits + "a"
    assert push_payload_size("T", too_big) == 4097
    with pytest.raises(ChannelError) as caught:
        check_content(PUSH, "T", too_big)
    assert caught.value.field == "content"
    assert "4097" in caught.value.message
    assert "4096" in caught.value.message


def test_push_title_counts_towards_the_payload() -> None:
    body = "b" * (4096 - len('{"title":"","body":""}'))
    check_content(PUSH, "", body)
    with pytest.raises(ChannelError):
        check_content(PUSH, "t", body)


@pytest.mark.parametrize(
    ("content", "segments"),
    [("a" * 1530, 10), ("ж" * 670, 10), (EMOJI * 335, 10), ("€" * 765, 10)],
)
def test_sms_of_ten_segments_passes(content: str, segments: int) -> None:
    assert sms_segments(content)[1] == segments
    check_content(SMS, "ignored title", content)


@pytest.mark.parametrize(
    ("content", "encoding"),
    [("a" * 1531, "GSM-7"), ("ж" * 671, "UCS-2"), (EMOJI * 336, "UCS-2"), ("€" * 766, "GSM-7")],
)
def test_sms_of_eleven_segments_is_refused_on_the_content(content: str, encoding: str) -> None:
    with pytest.raises(ChannelError) as caught:
        check_content(SMS, "", content)
    assert caught.value.field == "content"
    assert "11 segments" in caught.value.message
    assert encoding in caught.value.message
    assert "at most 10" in caught.value.message


def test_sms_title_does_not_count() -> None:
    check_content(SMS, "t" * 10_000, "a" * 1530)


def test_email_content_has_no_limit_here() -> None:
    check_content(EMAIL, "Subject", "x" * 200_000)


@pytest.mark.parametrize("channel", CHANNELS)
def test_lone_surrogates_are_refused_on_every_channel(channel: str) -> None:
    with pytest.raises(ChannelError) as caught:
        check_content(channel, "ok", "bad \ud83d text")
    assert caught.value.field == "content"
    with pytest.raises(ChannelError) as caught:
        check_content(channel, "bad \udc00", "ok")
    assert caught.value.field == "title"


def test_check_content_refuses_an_unknown_channel() -> None:
    with pytest.raises(ChannelError) as caught:
        check_content("fax", "", "hello")
    assert caught.value.field == "channel"
