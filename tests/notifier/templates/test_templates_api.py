"""The /templates routes with an access token: create, read, list, edit, delete."""

from __future__ import annotations

import pytest
from sqlalchemy import delete

from notifier.caps import TEMPLATES
from notifier.database import utcnow
from notifier.extensions import db
from notifier.templates.models import Template
from notifier.users.models import User
from tests.notifier.templates.conftest import ORDER

FIELDS = {
    "id",
    "name",
    "channel",
    "title",
    "content",
    "version",
    "placeholders",
    "created_at",
    "updated_at",
}


def test_create_answers_201_with_location_version_1_and_placeholders(api):
    response = api.post("/templates", 201, json=ORDER)
    body = response.get_json()
    assert response.headers["Location"] == f"/templates/{body['id']}"
    assert set(body) == FIELDS
    assert body["version"] == 1
    assert body["placeholders"] == ["city", "name", "order"]
    assert body["title"] == ORDER["title"] and body["content"] == ORDER["content"]
    assert body["created_at"].endswith("+00:00")
    assert api.get(f"/templates/{body['id']}").get_json() == body


def test_name_and_title_are_trimmed_and_content_kept_as_written(api):
    body = api.post(
        "/templates",
        201,
        json={**ORDER, "name": "  Padded ", "title": " Hi {{ a }} ", "content": " x\n\ty "},
    ).get_json()
    assert (body["name"], body["title"], body["content"]) == ("Padded", "Hi {{ a }}", " x\n\ty ")


def test_every_invalid_field_is_named_at_once(api):
    response = api.post(
        "/templates",
        422,
        json={"name": "", "channel": "fax", "title": "a\nb", "content": "{% if x %}"},
    )
    errors = response.get_json()["errors"]["json"]
    assert set(errors) == {"name", "channel", "title", "content"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "Hi {{ user.name }}"),
        ("content", "Hi {{ name|upper }}"),
        ("content", "{# note #}"),
        ("content", "{{ 1st }}"),
        ("title", "t" * 201),
        ("content", "c" * 5001),
        ("content", ""),
        ("name", "n" * 101),
        ("name", "tab\there"),
        ("name", "bell\x07"),
        ("name", "next\x85line"),
        ("title", "nul\x00"),
        ("content", "lone \ud800"),
    ],
)
def test_a_bad_field_is_422_naming_it(api, field, value):
    response = api.post("/templates", 422, json={**ORDER, field: value})
    assert list(response.get_json()["errors"]["json"]) == [field]


def test_a_syntax_error_says_how_placeholders_are_written(api):
    error = api.post("/templates", 422, json={**ORDER, "content": "Hi {{ a.b }}"}).get_json()
    assert "{{ name }}" in error["errors"]["json"]["content"][0]


def test_unsubscribe_url_is_a_name_a_template_may_use(api):
    body = api.post(
        "/templates", 201, json={**ORDER, "content": "Bye: {{ unsubscribe_url }}"}
    ).get_json()
    assert body["placeholders"] == ["order", "unsubscribe_url"]


def test_list_is_newest_first_filtered_by_channel_and_paginated(api, make_template):
    first = make_template(name="one")
    second = make_template(name="two", channel="sms")
    third = make_template(name="three")
    response = api.get("/templates")
    assert [t["id"] for t in response.get_json()] == [third["id"], second["id"], first["id"]]
    assert '"total": 3' in response.headers["X-Pagination"]
    assert [t["id"] for t in api.get("/templates?channel=sms").get_json()] == [second["id"]]
    page = api.get("/templates?page=2&page_size=2")
    assert [t["id"] for t in page.get_json()] == [first["id"]]
    assert api.get("/templates?page=1000000").get_json() == []
    api.get("/templates?channel=fax", 422)
    api.get("/templates?page_size=101", 422)


def test_another_users_template_is_404_everywhere(api, other_api, template):
    path = f"/templates/{template['id']}"
    other_api.get(path, 404)
    other_api.put(path, 404, json={"name": "x", "title": "t", "content": "c"})
    other_api.patch(path, 404, json={"name": "x"})
    other_api.delete(path, 404)
    other_api.get(f"{path}/versions", 404)
    other_api.get(f"{path}/versions/1", 404)
    other_api.post(f"{path}/preview", 404, json={"personalisation": {}})
    assert other_api.get("/templates").get_json() == []
    assert api.get(path).get_json() == template


@pytest.mark.parametrize("template_id", ["abc", "-1", "0", "9" * 26, "99999"])
def test_an_unknown_or_malformed_id_is_404(api, template_id):
    api.get(f"/templates/{template_id}", 404)


def test_a_rename_keeps_the_version_a_text_change_makes_a_new_one(api, template):
    path = f"/templates/{template['id']}"
    renamed = api.patch(path, 200, json={"name": "Renamed"}).get_json()
    assert (renamed["name"], renamed["version"]) == ("Renamed", 1)
    same = api.patch(path, 200, json={"title": ORDER["title"]}).get_json()
    assert same["version"] == 1
    edited = api.patch(path, 200, json={"content": "Now {{ x }}"}).get_json()
    assert edited["version"] == 2 and edited["placeholders"] == ["order", "x"]
    replaced = api.put(path, 200, json={"name": "P", "title": "T", "content": "C"}).get_json()
    assert (replaced["version"], replaced["title"], replaced["placeholders"]) == (3, "T", [])
    assert api.get(path).get_json() == replaced


def test_every_version_stays_readable_newest_first(api, template):
    path = f"/templates/{template['id']}"
    api.patch(path, 200, json={"title": "Second {{ a }}"})
    api.patch(path, 200, json={"content": "Third"})
    versions = api.get(f"{path}/versions").get_json()
    assert [v["version"] for v in versions] == [3, 2, 1]
    assert set(versions[0]) == {"version", "title", "content", "placeholders", "created_at"}
    first = api.get(f"{path}/versions/1").get_json()
    assert (first["title"], first["content"]) == (ORDER["title"], ORDER["content"])
    assert first["placeholders"] == ["city", "name", "order"]
    assert api.get(f"{path}/versions/2").get_json()["title"] == "Second {{ a }}"
    api.get(f"{path}/versions/4", 404)
    api.get(f"{path}/versions/0", 404)
    api.get(f"{path}/versions/{2**40}", 404)
    api.get(f"{path}/versions/{2**63 - 1}", 404)


def test_the_channel_is_fixed_at_creation(api, template):
    path = f"/templates/{template['id']}"
    error = api.patch(path, 422, json={"channel": "sms"}).get_json()
    assert list(error["errors"]["json"]) == ["channel"]
    api.put(path, 422, json={"name": "n", "channel": "push", "title": "t", "content": "c"})
    api.patch(path, 200, json={"channel": "email", "name": "Same channel"})
    assert api.get(path).get_json()["channel"] == "email"


def test_put_needs_every_field_and_patch_checks_what_it_sends(api, template):
    path = f"/templates/{template['id']}"
    error = api.put(path, 422, json={"name": "only a name"}).get_json()
    assert set(error["errors"]["json"]) == {"title", "content"}
    api.patch(path, 422, json={"title": "{{ bad name }}"})
    api.patch(path, 422, json={"version": 7})
    assert api.patch(path, 200, json={}).get_json() == template


def test_a_deleted_template_is_404_and_its_id_is_never_reused(api, make_template):
    make_template()
    last = make_template()
    path = f"/templates/{last['id']}"
    api.delete(path, 204)
    for url in (path, f"{path}/versions", f"{path}/versions/1"):
        api.get(url, 404)
    api.post(f"{path}/preview", 404, json={"personalisation": {}})
    api.patch(path, 404, json={"name": "x"})
    api.delete(path, 404)
    assert last["id"] not in [t["id"] for t in api.get("/templates").get_json()]
    assert make_template()["id"] > last["id"]


def test_a_deleted_users_template_ids_are_not_given_again(api, other_api, make_template):
    mine = make_template(client=other_api)
    other_id = other_api.get("/users/me").get_json()["id"]
    db.session.execute(delete(User).where(User.id == other_id))
    db.session.commit()
    assert db.session.get(Template, mine["id"]) is None
    assert make_template()["id"] > mine["id"]


def test_at_most_1000_live_templates_per_user(api, user, template):
    now = utcnow()
    with db.session.begin():
        db.session.add_all(
            Template(
                user_id=user.id,
                name=f"t{n}",
                channel="email",
                title="T",
                content="C",
                version=1,
                created_at=now,
                updated_at=now,
            )
            for n in range(TEMPLATES.limit - 2)
        )
    last = api.post("/templates", 201, json=ORDER).get_json()
    error = api.post("/templates", 422, json=ORDER).get_json()
    assert "1000 templates" in error["message"]
    api.delete(f"/templates/{last['id']}", 204)
    api.post("/templates", 201, json=ORDER)
