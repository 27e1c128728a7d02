"""/suppressions: list, add and lift a user's suppressed targets; sends refused to them."""

from __future__ import annotations

import pytest

from tests.factories import NotificationFactory
from tests.receipt_support import suppressions_of

PUSH_TOKEN = "a" * 40


def test_adding_a_suppression_answers_201_with_the_entry(api):
    body = api.post(
        "/suppressions", 201, json={"channel": "email", "target": " Bob@Example.COM "}
    ).get_json()

    assert body["channel"] == "email"
    assert body["target"] == "Bob@example.com"  # normalised like a notification's target
    assert body["reason"] == "manual"
    assert body["notification_id"] is None
    assert set(body) == {"id", "channel", "target", "reason", "notification_id", "created_at"}


def test_adding_it_again_answers_200_with_the_existing_entry_whatever_the_case(api):
    first = api.post("/suppressions", 201, json={"channel": "email", "target": "bob@example.com"})

    again = api.post("/suppressions", 200, json={"channel": "email", "target": "BOB@example.com"})

    assert again.get_json() == first.get_json()


def test_an_sms_target_is_normalised_to_e164(api):
    body = api.post(
        "/suppressions", 201, json={"channel": "sms", "target": "+1 (415) 555-0100"}
    ).get_json()

    assert body["target"] == "+14155550100"


@pytest.mark.parametrize(
    "body",
    [
        {"channel": "email", "target": "not-an-address"},
        {"channel": "sms", "target": "12"},
        {"channel": "push", "target": "short"},
        {"channel": "fax", "target": "x"},
        {"channel": "email"},
        {"channel": "email", "target": "a@example.com", "reason": "because"},
        {"channel": "email", "target": "a\x00@example.com"},
    ],
)
def test_an_invalid_entry_is_422(api, user, body):
    api.post("/suppressions", 422, json=body)

    assert suppressions_of(user.id) == []


def test_the_list_is_newest_first_with_totals_and_filters(api):
    api.post("/suppressions", 201, json={"channel": "email", "target": "a@example.com"})
    api.post("/suppressions", 201, json={"channel": "sms", "target": "+14155550100"})
    api.post("/suppressions", 201, json={"channel": "push", "target": PUSH_TOKEN})

    everything = api.get("/suppressions")
    sms_only = api.get("/suppressions?channel=sms").get_json()
    one = api.get("/suppressions?channel=email&target=A@EXAMPLE.COM").get_json()
    page = api.get("/suppressions?page=2&page_size=2").get_json()

    assert [entry["channel"] for entry in everything.get_json()] == ["push", "sms", "email"]
    assert '"total": 3' in everything.headers["X-Pagination"]
    assert [entry["target"] for entry in sms_only] == ["+14155550100"]
    assert [entry["target"] for entry in one] == ["a@example.com"]
    assert [entry["channel"] for entry in page] == ["email"]


def test_a_target_filter_without_a_channel_finds_it_on_the_channel_that_takes_it(api):
    api.post("/suppressions", 201, json={"channel": "email", "target": "a@example.com"})
    api.post("/suppressions", 201, json={"channel": "sms", "target": "+14155550100"})
    api.post("/suppressions", 201, json={"channel": "push", "target": PUSH_TOKEN})

    by_address = api.get("/suppressions?target=A@Example.com").get_json()
    by_number = api.get("/suppressions?target=%2B1%20415%20555%200100").get_json()
    by_token = api.get(f"/suppressions?target={PUSH_TOKEN}").get_json()

    assert [(e["channel"], e["target"]) for e in by_address] == [("email", "a@example.com")]
    assert [(e["channel"], e["target"]) for e in by_number] == [("sms", "+14155550100")]
    assert [(e["channel"], e["target"]) for e in by_token] == [("push", PUSH_TOKEN)]
    assert api.get("/suppressions?target=b@example.com").get_json() == []


def test_a_target_no_channel_takes_is_422_naming_it(api):
    body = api.get("/suppressions?target=not%20a%20target", 422).get_json()
    assert list(body["errors"]["query"]) == ["target"]


def test_a_page_past_any_sane_end_is_422(api):
    api.get("/suppressions?page=1000001", 422)


def test_entries_are_per_user(api, other_api):
    entry = api.post(
        "/suppressions", 201, json={"channel": "email", "target": "a@example.com"}
    ).get_json()

    assert other_api.get("/suppressions").get_json() == []
    other_api.delete(f"/suppressions/{entry['id']}", 404)
    other_api.create(201, target="a@example.com")
    api.create(422, target="a@example.com")


def test_a_send_to_a_suppressed_target_is_422_saying_why(api):
    api.post("/suppressions", 201, json={"channel": "email", "target": "a@example.com"})

    body = api.create(422, target="A@Example.com").get_json()

    [message] = body["errors"]["json"]["target"]
    assert "suppressed" in message
    assert "added by hand" in message


def test_lifting_a_suppression_allows_sends_again(api):
    entry = api.post(
        "/suppressions", 201, json={"channel": "email", "target": "a@example.com"}
    ).get_json()

    api.delete(f"/suppressions/{entry['id']}", 204)

    api.create(201, target="a@example.com")
    api.delete(f"/suppressions/{entry['id']}", 404)


def test_an_edit_to_a_suppressed_target_is_422(api, user):
    nid = api.create(201, target="ok@example.com").get_json()["id"]
    api.post("/suppressions", 201, json={"channel": "email", "target": "no@example.com"})

    api.patch(f"/notifications/{nid}", 422, json={"target": "no@example.com"})
    put = {"title": "T", "content": "C", "channel": "email", "target": "NO@example.com"}
    api.put(f"/notifications/{nid}", 422, json=put)


def test_a_test_keys_send_to_a_suppressed_target_is_422_too(make_key, api):
    test_key, _ = make_key(mode="test")
    api.post("/suppressions", 201, json={"channel": "sms", "target": "+14155550100"})

    body = {"title": "T", "content": "C", "channel": "sms", "target": "+14155550100"}
    test_key.post("/notifications", 422, json=body)


def test_keys_need_read_or_write_scopes(make_key):
    reader, _ = make_key(scopes=["notifications:read"])
    sender, _ = make_key(scopes=["notifications:send"])
    entry = {"channel": "email", "target": "a@example.com"}

    reader.get("/suppressions", 200)
    reader.post("/suppressions", 403, json=entry)
    sender.get("/suppressions", 403)
    sender.post("/suppressions", 403, json=entry)


def test_a_key_with_write_scope_adds_and_lifts(make_key):
    writer, _ = make_key(scopes=["notifications:write"])

    created = writer.post(
        "/suppressions", 201, json={"channel": "email", "target": "a@example.com"}
    ).get_json()
    writer.delete(f"/suppressions/{created['id']}", 204)


def test_a_suppression_keeps_the_notification_that_caused_it(api, user):
    nid = NotificationFactory(user_id=user.id, status="sent", provider_message_id="p1").id
    api.post("/receipts", 200, json={"provider_message_id": "p1", "status": "failed"})

    [entry] = api.get("/suppressions").get_json()

    assert (entry["reason"], entry["notification_id"]) == ("receipt", nid)


def test_a_very_long_push_token_can_be_suppressed_and_matched(api):
    token = "t" * 4096
    api.post("/suppressions", 201, json={"channel": "push", "target": token})
    api.post("/suppressions", 200, json={"channel": "push", "target": token})

    api.create(422, channel="push", target=token)
    api.create(201, channel="push", target=token[:-1] + "u")
