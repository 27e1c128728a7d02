"""Channel rules (notifier.channels): SMS encoding and segments, push payload size, content."""

from __future__ import annotations

import json
import math

import pytest

from notifier import channels
from notifier.channels import (
    CHANNELS,
    EMAIL,
    PUSH,
    SMS,
    ChannelError,
    check_content,
    push_payload_size,
    sms_encoding,
    sms_segments,
)

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "\x0c^{}\\[~]|€"
EMOJI = "\U0001f600"  # 😀, outside the BMP: two UTF-16 code units


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
