"""Channel rules of POST /deliver at their boundaries: 200 inside, 422 naming the field outside."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from delivery.rules import MAX_EMAIL_BODY_BYTES, MAX_EMAIL_SUBJECT_CHARS

Deliver = Callable[[Any], Any]
EMOJI = "\U0001f600"
TOKEN = "t" * 40


def _rejected_on(response: Any, field: str, assert_error: Callable) -> str:
    body = assert_error(response, 422)
    assert field in body["errors"]["json"], body
    return body["message"]


# --- email -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["someone@example.com", "Foo@EXAMPLE.com", "first.last+tag@mail.example.org", "ü@exämple.com"],
)
def test_email_to_a_valid_address_is_sent(
    deliver: Deliver, message: Callable[..., dict], target: str
) -> None:
    assert deliver(message("email", target=target)).status_code == 200


@pytest.mark.parametrize(
    "target",
    [
        "not-an-address",
        "someone@",
        "@example.com",
        "someone@localhost",
        "someone@example",
        "Someone <someone@example.com>",
        "someone@example.com\r\nBcc: victim@example.com",
        "some\x00one@example.com",
        "+14155552671",
        TOKEN,
    ],
)
def test_email_to_an_invalid_address_is_422_on_target(
    deliver: Deliver, message: Callable[..., dict], assert_error: Callable, target: str
) -> None:
    _rejected_on(deliver(message("email", target=target)), "target", assert_error)


@pytest.mark.parametrize("title", ["absent", None, "", "   "], ids=["absent", "null", "", "blank"])
def test_email_without_a_subject_is_sent(
    client: Any, message: Callable[..., dict], title: str | None
) -> None:
    """Documented: `title` may be empty or absent; the email then has no subject."""
    body = message("email")
    if title == "absent":
        del body["title"]
    else:
        body["title"] = title
    response = client.post("/deliver", json=body)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "sent"


@pytest.mark.parametrize("title", ["Hello\nBcc: x@example.com", "Hello\r", "\r\nHello", "a\rb"])
def test_email_subject_with_a_line_break_is_422_on_title(
    deliver: Deliver, message: Callable[..., dict], assert_error: Callable, title: str
) -> None:
    text = _rejected_on(deliver(message("email", title=title)), "title", assert_error)
    assert "line breaks" in text


def test_email_subject_of_200_characters_is_sent_and_201_is_422(
    deliver: Deliver, message: Callable[..., dict], assert_error: Callable
) -> None:
    assert MAX_EMAIL_SUBJECT_CHARS == 200
    assert deliver(message("email", title="s" * 200)).status_code == 200
    assert deliver(message("email", title="é" * 200)).status_code == 200  # characters, not bytes
    text = _rejected_on(deliver(message("email", title="s" * 201)), "title", assert_error)
    assert "201" in text
    assert "200" in text


@pytest.mark.parametrize(("unit", "unit_bytes"), [("a", 1), ("é", 2), ("€", 3), (EMOJI, 4)])
def test_email_body_of_100_000_bytes_is_sent_and_one_more_byte_is_422(
    deliver: Deliver,
    message: Callable[..., dict],
    assert_error: Callable,
    unit: str,
    unit_bytes: int,
) -> None:
    assert MAX_EMAIL_BODY_BYTES == 100_000
    count, rest = divmod(100_000, unit_bytes)
    body = unit * count + "a" * rest
    response = deliver(message("email", content=body))
    assert response.status_code == 200
    assert response.get_json()["details"] == {"bytes": 100_000, "provider": "simulator"}

    text = _rejected_on(deliver(message("email", content=body + "a")), "content", assert_error)
    assert "100001" in text


# --- sms ---------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["+14155552671", "+447911123456", "+4915112345678"])
def test_sms_to_an_e164_number_is_sent(
    deliver: Deliver, message: Callable[..., dict], target: str
) -> None:
    assert deliver(message("sms", target=target)).status_code == 200


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("+1 (415) 555-2671", "valid, but not in E.164 form"),
        ("+1-415-555-2671", "valid, but not in E.164 form"),
        (" +14155552671", "padding"),
        ("4155552671", "national form"),
        ("+19005550100", "premium rate"),
        ("+1415555267", "too short"),
        ("+1-800-FLOWERS", "letters"),
        ("someone@example.com", "an email address"),
        ("+" + "1" * 200, "very long"),
    ],
)
def test_sms_to_anything_but_a_valid_e164_number_is_422_on_target(
    deliver: Deliver, message: Callable[..., dict], assert_error: Callable, target: str, why: str
) -> None:
    _rejected_on(deliver(message("sms", target=target)), "target", assert_error)


@pytest.mark.parametrize(
    ("content", "encoding", "segments"),
    [
        ("a", "GSM-7", 1),
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("{}" * 40, "GSM-7", 1),  # 80 characters, 160 septets
        ("{}" * 40 + "a", "GSM-7", 2),  # 161 septets
        ("Ça coûte 5€ @ Zürich", "UCS-2", 1),  # û is not GSM
        ("Ça coute 5€ @ Zürich", "GSM-7", 1),
        ("ж" * 70, "UCS-2", 1),
        ("ж" * 71, "UCS-2", 2),
        (EMOJI * 35, "UCS-2", 1),
        (EMOJI * 35 + "a", "UCS-2", 2),
        ("a" * 1530, "GSM-7", 10),
        ("|" * 765, "GSM-7", 10),
        ("ж" * 670, "UCS-2", 10),
        (EMOJI * 335, "UCS-2", 10),
    ],
)
def test_sms_details_report_encoding_and_segments(
    deliver: Deliver, message: Callable[..., dict], content: str, encoding: str, segments: int
) -> None:
    response = deliver(message("sms", content=content))
    assert response.status_code == 200
    assert response.get_json()["details"] == {
        "encoding": encoding,
        "segments": segments,
        "provider": "simulator",
    }


@pytest.mark.parametrize(
    ("content", "encoding"),
    [("a" * 1531, "GSM-7"), ("|" * 766, "GSM-7"), ("ж" * 671, "UCS-2"), (EMOJI * 336, "UCS-2")],
)
def test_sms_of_more_than_10_segments_is_422_on_content(
    deliver: Deliver,
    message: Callable[..., dict],
    assert_error: Callable,
    content: str,
    encoding: str,
) -> None:
    text = _rejected_on(deliver(message("sms", content=content)), "content", assert_error)
    assert "11 segments" in text
    assert encoding in text


def test_sms_title_is_not_part_of_the_message(
    deliver: Deliver, message: Callable[..., dict]
) -> None:
    response = deliver(message("sms", title="ж" * 5000, content="a" * 160))
    assert response.status_code == 200
    assert response.get_json()["details"] == {
        "encoding": "GSM-7",
        "segments": 1,
        "provider": "simulator",
    }


# --- push --------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["a" * 32, "Z" * 4096, "fcm:APA91b-x_y.z" * 3])
def test_push_to_a_valid_token_is_sent(
    deliver: Deliver, message: Callable[..., dict], target: str
) -> None:
    assert deliver(message("push", target=target)).status_code == 200


@pytest.mark.parametrize(
    "target",
    ["a" * 31, "a" * 4097, "a" * 31 + "/", "a" * 32 + " ", "a" * 31 + "é", "a" * 32 + "\n"],
)
def test_push_to_an_invalid_token_is_422_on_target(
    deliver: Deliver, message: Callable[..., dict], assert_error: Callable, target: str
) -> None:
    _rejected_on(deliver(message("push", target=target)), "target", assert_error)


@pytest.mark.parametrize(("unit", "unit_bytes"), [("a", 1), ("é", 2), ('"', 2), ("\\", 2)])
def test_push_payload_of_4096_bytes_is_sent_and_4097_is_422(
    deliver: Deliver,
    message: Callable[..., dict],
    assert_error: Callable,
    unit: str,
    unit_bytes: int,
) -> None:
    overhead = len('{"title":"T","body":""}')
    count, rest = divmod(4096 - overhead, unit_bytes)
    content = unit * count + "a" * rest

    response = deliver(message("push", title="T", content=content))
    assert response.status_code == 200
    assert response.get_json()["details"] == {"payload_bytes": 4096, "provider": "simulator"}

    text = _rejected_on(
        deliver(message("push", title="T", content=content + "a")), "content", assert_error
    )
    assert "4097" in text


def test_push_title_is_optional(client: Any, message: Callable[..., dict]) -> None:
    body = {**message("push"), "title": None}
    response = client.post("/deliver", json=body)
    assert response.status_code == 200
    assert response.get_json()["details"] == {
        "payload_bytes": len('{"title":"","body":"You have mail"}'),
        "provider": "simulator",
    }


# --- every channel -----------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["email", "sms", "push"])
@pytest.mark.parametrize("field", ["title", "content"])
def test_lone_surrogate_in_text_is_422(
    client: Any, message: Callable[..., dict], assert_error: Callable, channel: str, field: str
) -> None:
    body = message(channel, **{field: "broken \ud83d text"})
    assert_error(client.post("/deliver", json=body), 422)
