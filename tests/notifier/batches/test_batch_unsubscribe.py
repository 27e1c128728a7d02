"""A batch's `{{ unsubscribe_url }}`: each recipient's own link, the one its notification
carries (its `unsubscribe_url`, its List-Unsubscribe header), and the link works."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from notifier.extensions import db
from notifier.worker.policy import Settings
from notifier.worker.queue import DeliveryQueue
from tests.notifier.batches.conftest import notifications_of, send_batch
from tests.receipt_support import suppressions_of

BASE = "https://notify.example.com"
NEWS = {
    "name": "News",
    "channel": "email",
    "title": "News for {{ name }}",
    "content": "Hello {{ name }}. Stop these: {{ unsubscribe_url }}",
}


@pytest.fixture(autouse=True)
def public_base_url(app) -> Iterator[None]:
    saved = app.config.get("PUBLIC_BASE_URL")
    app.config["PUBLIC_BASE_URL"] = BASE
    yield
    app.config["PUBLIC_BASE_URL"] = saved


@pytest.fixture
def news(api) -> dict:
    return api.post("/templates", 201, json=NEWS).get_json()


PEOPLE = [
    {"target": "Ann@Example.COM", "personalisation": {"name": "Ann"}},
    {"target": "bob@example.com", "personalisation": {"name": "Bob"}},
]


def _links(api, batch_id: int) -> dict[str, str]:
    """target → the link in its notification's content, checked against its answer."""
    found = {}
    for row in notifications_of(batch_id):
        body = api.get(f"/notifications/{row.id}").get_json()
        link = body["content"].split("Stop these: ", 1)[1]
        assert link == body["unsubscribe_url"]
        assert link.startswith(f"{BASE}/unsubscribe/")
        found[body["target"]] = link
    return found


def test_each_recipient_gets_its_own_link_in_the_content(api, news):
    batch = send_batch(api, news["id"], recipients=PEOPLE).get_json()

    links = _links(api, batch["id"])

    assert set(links) == {"Ann@example.com", "bob@example.com"}
    assert links["Ann@example.com"] != links["bob@example.com"]


def test_a_csv_batch_renders_the_links_too(api, news):
    csv = "target,name\nAnn@Example.COM,Ann\nbob@example.com,Bob\n"

    batch = send_batch(api, news["id"], csv=csv).get_json()

    assert set(_links(api, batch["id"])) == {"Ann@example.com", "bob@example.com"}


def test_the_link_is_the_one_a_single_send_and_the_header_carry(app, api, news):
    batch = send_batch(api, news["id"], recipients=PEOPLE[:1]).get_json()
    single = api.post(
        "/notifications",
        201,
        json={
            "template_id": news["id"],
            "target": " Ann@example.com",
            "personalisation": {"name": "Ann"},
            "unsubscribe": True,
        },
    ).get_json()
    [link] = _links(api, batch["id"]).values()

    assert link == single["unsubscribe_url"]
    queue = DeliveryQueue(db.engine, Settings.from_config(app.config))
    claimed = {claim.request.content: claim.request.list_unsubscribe for claim in queue.claim(10)}
    assert claimed[f"Hello Ann. Stop these: {link}"] == link


def test_the_link_in_a_batch_row_shows_the_page_and_unsubscribes(api, client, news, user):
    batch = send_batch(api, news["id"], recipients=PEOPLE).get_json()
    path = _links(api, batch["id"])["Ann@example.com"].removeprefix(BASE)

    page = client.get(path)
    assert (page.status_code, page.mimetype) == (200, "text/html")
    assert f'action="{path}"' in page.get_data(as_text=True)
    assert suppressions_of(user.id) == []

    response = client.post(path, data="List-Unsubscribe=One-Click")

    assert (response.status_code, response.get_json()) == (200, {"status": "unsubscribed"})
    [entry] = suppressions_of(user.id)
    assert (entry.target, entry.reason) == ("Ann@example.com", "unsubscribe")
    again = send_batch(api, news["id"], recipients=PEOPLE).get_json()
    assert again["counts"]["failed"] == 1  # Ann is suppressed now; Bob is not


@pytest.mark.parametrize("unset", ["unsubscribe", "base_url"])
def test_without_a_link_the_placeholder_renders_empty(app, api, news, unset):
    body = {"recipients": PEOPLE[1:]}
    if unset == "unsubscribe":
        body["unsubscribe"] = False
    else:
        app.config["PUBLIC_BASE_URL"] = ""

    batch = send_batch(api, news["id"], **body).get_json()

    [row] = notifications_of(batch["id"])
    answer = api.get(f"/notifications/{row.id}").get_json()
    assert (answer["content"], answer["unsubscribe_url"]) == ("Hello Bob. Stop these: ", None)


def test_a_template_without_the_placeholder_is_unchanged(api, template):
    batch = send_batch(
        api,
        template["id"],
        recipients=[PEOPLE[1] | {"personalisation": {"name": "Bob", "code": 7}}],
    ).get_json()

    [row] = notifications_of(batch["id"])
    assert (row.title, row.content, row.unsubscribe) == ("Hello Bob", "Your code is 7.", True)
