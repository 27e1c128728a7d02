"""To a test key a live notification does not exist; a live key and a token see both.

A test key answers 404 on every route that names a live notification, lists and
counts only sandbox ones, and everything it creates or edits stays sandbox.
"""

from __future__ import annotations

import json

import pytest

from tests.helpers import ApiClient

NEW_TARGET = {"target": "attacker@example.net", "scheduled_at": None}
FULL_BODY = {"title": "T", "content": "C", "channel": "email", "target": "attacker@example.net"}


def _listed(client: ApiClient, query: str = "") -> tuple[list[int], int]:
    response = client.get(f"/notifications{query}")
    return [n["id"] for n in response.get_json()], json.loads(response.headers["X-Pagination"])[
        "total"
    ]


@pytest.fixture
def live(api) -> dict:
    """A pending live notification made with the access token, due in a far future."""
    return api.create(scheduled_at="2999-01-01T00:00:00+00:00").get_json()


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("GET", "/attempts", None),
        ("PUT", "", FULL_BODY),
        ("PATCH", "", NEW_TARGET),
        ("DELETE", "", None),
    ],
)
def test_a_test_key_gets_404_on_a_live_notification(api, make_key, live, method, suffix, body):
    tester, _ = make_key(mode="test")
    response = tester.request(method, f"/notifications/{live['id']}{suffix}", 404, json=body)
    assert response.get_json()["message"] == "Notification not found."
    # Untouched: the owner still reads it as it was.
    assert api.get(f"/notifications/{live['id']}").get_json() == live


def test_a_test_key_gets_the_same_404_as_for_an_id_that_does_not_exist(make_key, live):
    tester, _ = make_key(mode="test")
    missing = tester.get(f"/notifications/{live['id'] + 1000}", 404).get_json()
    assert tester.get(f"/notifications/{live['id']}", 404).get_json() == missing


def test_a_test_keys_list_and_total_leave_live_notifications_out(api, make_key, keyed):
    tester, _ = make_key(mode="test")
    live_ids = [api.create().get_json()["id"], keyed.create().get_json()["id"]]
    test_ids = [tester.create().get_json()["id"] for _ in range(3)]

    assert _listed(tester) == (test_ids[::-1], 3)
    assert _listed(tester, "?sandbox=false") == ([], 0)
    assert _listed(tester, "?sandbox=true&status=pending&channel=email") == (test_ids[::-1], 3)
    assert _listed(tester, "?page=2&page_size=2") == (test_ids[:1], 3)
    assert _listed(tester, "?page=3&page_size=2") == ([], 3)
    everything = (test_ids[::-1] + live_ids[::-1], 5)
    assert _listed(api) == everything
    assert _listed(keyed) == everything


@pytest.mark.parametrize("who", ["token", "live key"])
def test_a_live_key_and_a_token_read_edit_and_delete_both_kinds(api, make_key, keyed, who):
    tester, _ = make_key(mode="test")
    caller = api if who == "token" else keyed
    for created in (api.create().get_json(), tester.create().get_json()):
        path = f"/notifications/{created['id']}"
        assert caller.get(path).get_json()["id"] == created["id"]
        caller.get(f"{path}/attempts")
        edited = caller.patch(path, 200, json={"title": "Edited"}).get_json()
        assert (edited["title"], edited["sandbox"]) == ("Edited", created["sandbox"])
        caller.delete(path, 204)


def test_a_test_key_reads_edits_and_deletes_its_sandbox_notifications(api, make_key):
    tester, _ = make_key(mode="test")
    made_by_token = api.create().get_json()
    mine = tester.create().get_json()
    # A sandbox notification is the test key's whoever made it; a token's is live.
    assert made_by_token["sandbox"] is False
    path = f"/notifications/{mine['id']}"
    assert tester.get(path).get_json() == mine
    assert tester.get(f"{path}/attempts").get_json() == []
    edited = tester.patch(path, 200, json=NEW_TARGET).get_json()
    assert (edited["target"], edited["sandbox"]) == ("attacker@example.net", True)
    replaced = tester.put(path, 200, json=FULL_BODY).get_json()
    assert replaced["sandbox"] is True
    tester.delete(path, 204)
    tester.get(path, 404)


def test_a_test_key_cannot_replay_a_live_requests_idempotency_key(api, make_key):
    """The replay would hand the live notification's body to the test key."""
    tester, _ = make_key(mode="test")
    headers = {"Idempotency-Key": "order-7"}
    body = {"title": "Hello", "content": "Hi", "channel": "email", "target": "bob@example.com"}
    api.post("/notifications", 201, json=body, headers=headers)

    refused = tester.post("/notifications", 422, json=body, headers=headers).get_json()

    assert "bob@example.com" not in json.dumps(refused)
    assert list(refused["errors"]["headers"]) == ["Idempotency-Key"]
    assert _listed(tester) == ([], 0)
    # The same key and body from a test key, twice: one sandbox notification, replayed.
    other = {**headers, "Idempotency-Key": "order-8"}
    first = tester.post("/notifications", 201, json=body, headers=other)
    again = tester.post("/notifications", 201, json=body, headers=other)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json() and first.get_json()["sandbox"] is True
