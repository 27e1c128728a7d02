"""Control characters in the API's text fields: a title or a name holds none (line breaks
and tabs included), content holds none but line breaks and tabs. Each is a 422 naming the
field, and nothing is written.

Vertical tab, form feed, the file/group/record separators and NEL passed the old title
check (CR and LF only), and Python's email library then refused the subject at every
try: a retryable 503 for ever. One rule in one place (`notifier.web.Text`) now covers
every field, whatever the feature.
"""

from __future__ import annotations

import pytest

from notifier.api_keys.models import ApiKey
from notifier.extensions import db
from notifier.notifications.models import Notification
from notifier.webhooks.models import Webhook
from tests.webhook_support import make_webhook

# The characters that got through, then line breaks and tabs, then both ends of C0 and C1.
LISTED = ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85"]
LINE_BREAKS_AND_TAB = ["\n", "\r", "\t"]
OTHERS = ["\x01", "\x1b", "\x1f", "\x7f", "\x80", "\x9f"]
SINGLE_LINE_REFUSED = [*LISTED, *LINE_BREAKS_AND_TAB, *OTHERS, "\u2028"]
CONTENT_REFUSED = [*LISTED, *OTHERS]


def _names_only(response, field: str) -> None:
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert list(body["errors"]["json"]) == [field]
    assert field in body["message"]


@pytest.mark.parametrize("char", SINGLE_LINE_REFUSED, ids=ascii)
def test_a_notification_title_with_a_control_character_is_422(api, char):
    # At the end too: trimming must not quietly cut it off.
    for title in (f"Your{char}order", f"Your order{char}"):
        _names_only(api.create(expect=None, title=title), "title")
    assert db.session.query(Notification).count() == 0


@pytest.mark.parametrize("char", SINGLE_LINE_REFUSED, ids=ascii)
def test_an_edited_title_with_a_control_character_is_422_and_changes_nothing(api, char):
    created = api.create().get_json()
    path = f"/notifications/{created['id']}"
    _names_only(api.patch(path, json={"title": f"New{char}title"}), "title")
    whole = {key: created[key] for key in ("title", "content", "channel", "target")}
    _names_only(api.put(path, json={**whole, "title": f"New{char}title"}), "title")
    assert api.get(path).get_json()["title"] == created["title"]


@pytest.mark.parametrize("char", CONTENT_REFUSED, ids=ascii)
def test_content_with_a_control_character_other_than_a_line_break_or_tab_is_422(api, char):
    _names_only(api.create(expect=None, content=f"Line one{char}line two"), "content")
    assert db.session.query(Notification).count() == 0


@pytest.mark.parametrize("channel", ["email", "sms", "push"])
def test_content_keeps_its_line_breaks_and_tabs(api, channel):
    targets = {
        "email": "alice@example.com",
        "sms": "+14155552671",
        "push": "device-token_" + "a1B2:c3.d4-" * 4,
    }
    content = "Dear Ann,\r\n\tyour order\nhas shipped."
    body = api.create(channel=channel, target=targets[channel], content=content).get_json()
    assert body["content"] == content


@pytest.mark.parametrize("char", SINGLE_LINE_REFUSED, ids=ascii)
def test_an_api_key_name_with_a_control_character_is_422(api, char):
    _names_only(api.post("/api-keys", json={"name": f"Billing{char}server"}), "name")
    assert db.session.query(ApiKey).count() == 0


@pytest.mark.parametrize("char", SINGLE_LINE_REFUSED, ids=ascii)
def test_a_webhook_description_with_a_control_character_is_422(api, char):
    _names_only(make_webhook(api, expect=None, description=f"Ops{char}team"), "description")
    assert db.session.query(Webhook).count() == 0
    hook = make_webhook(api, description="Ops").get_json()
    path = f"/webhooks/{hook['id']}"
    _names_only(api.patch(path, json={"description": f"Ops{char}"}), "description")
    assert api.get(path).get_json()["description"] == "Ops"


@pytest.mark.parametrize("char", SINGLE_LINE_REFUSED, ids=ascii)
def test_a_user_name_with_a_control_character_is_422(client, char):
    body = {"name": f"Ann{char}Lee", "email": "ann@example.com", "password": "long enough"}
    _names_only(client.post("/users", json=body), "name")
