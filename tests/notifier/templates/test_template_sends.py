"""POST /notifications with a template; preview answers what a send stores."""

from __future__ import annotations

import pytest

from tests.notifier.templates.conftest import VALUES, send

PUSH_TOKEN = "dGhpcyBpcyBhIHB1c2ggdG9rZW4:APA91b-x_y.z" + "a" * 20


def test_a_send_stores_the_rendered_text_and_where_it_came_from(api, template):
    response = send(api, template_id=template["id"], personalisation=VALUES)
    body = response.get_json()
    assert response.headers["Location"] == f"/notifications/{body['id']}"
    assert body["title"] == "Order 42 shipped"
    assert body["content"] == "Hello Ada, your order 42 is on its way to London."
    assert (body["channel"], body["status"]) == ("email", "pending")
    assert (body["template_id"], body["template_version"]) == (template["id"], 1)
    assert body["reference"] is None
    assert api.get(f"/notifications/{body['id']}").get_json() == body


def test_a_notification_without_a_template_says_null(api):
    body = api.create().get_json()
    assert (body["template_id"], body["template_version"], body["reference"]) == (None,) * 3


def test_a_send_may_name_an_earlier_version(api, template):
    api.patch(f"/templates/{template['id']}", 200, json={"title": "New {{ order }}"})
    current = send(api, template_id=template["id"], personalisation=VALUES).get_json()
    pinned = send(
        api, template_id=template["id"], template_version=1, personalisation=VALUES
    ).get_json()
    assert (current["title"], current["template_version"]) == ("New 42", 2)
    assert (pinned["title"], pinned["template_version"]) == ("Order 42 shipped", 1)


def test_a_later_edit_never_changes_an_earlier_notification(api, template):
    sent = send(api, template_id=template["id"], personalisation=VALUES).get_json()
    api.put(f"/templates/{template['id']}", 200, json={"name": "n", "title": "T", "content": "C"})
    again = api.get(f"/notifications/{sent['id']}").get_json()
    assert (again["title"], again["content"], again["template_version"]) == (
        sent["title"],
        sent["content"],
        1,
    )


def test_a_deleted_template_cannot_be_sent_but_its_notifications_keep_their_text(api, template):
    sent = send(api, template_id=template["id"], personalisation=VALUES).get_json()
    api.delete(f"/templates/{template['id']}", 204)
    error = send(api, 422, template_id=template["id"], personalisation=VALUES).get_json()
    assert list(error["errors"]["json"]) == ["template_id"]
    assert api.get(f"/notifications/{sent['id']}").get_json() == sent
    listed = api.get(f"/notifications?template_id={template['id']}").get_json()
    assert [n["id"] for n in listed] == [sent["id"]]


def test_another_users_or_an_unknown_template_is_422_on_template_id(api, other_api, template):
    for client, template_id in ((other_api, template["id"]), (api, template["id"] + 1000)):
        error = send(client, 422, template_id=template_id, personalisation=VALUES).get_json()
        assert error["errors"]["json"] == {"template_id": ["You have no template with this id."]}


def test_an_unknown_version_is_422_on_template_version(api, template):
    error = send(
        api, 422, template_id=template["id"], template_version=2, personalisation=VALUES
    ).get_json()
    assert list(error["errors"]["json"]) == ["template_version"]


def test_title_content_or_channel_with_a_template_is_422_naming_each(api, template):
    error = send(
        api,
        422,
        template_id=template["id"],
        title="T",
        content="C",
        channel="email",
        personalisation=VALUES,
    ).get_json()
    assert set(error["errors"]["json"]) == {"title", "content", "channel"}


def test_without_a_template_title_content_and_channel_are_required(api):
    error = send(api, 422, personalisation={"a": 1}, template_version=1).get_json()
    assert set(error["errors"]["json"]) == {
        "title",
        "content",
        "channel",
        "personalisation",
        "template_version",
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("template_id", "1"),
        ("template_id", 0),
        ("template_id", None),
        ("template_version", 0),
        ("template_version", 1.5),
        ("personalisation", [1, 2]),
        ("personalisation", "a=1"),
    ],
)
def test_a_mistyped_template_field_is_422_naming_it(api, template, field, value):
    body = {"template_id": template["id"], "personalisation": VALUES, field: value}
    error = send(api, 422, **body).get_json()
    assert field in error["errors"]["json"]


def test_every_missing_value_is_named_on_personalisation(api, template):
    error = send(api, 422, template_id=template["id"], personalisation={"name": "Ada"}).get_json()
    assert error["errors"]["json"] == {"personalisation": ["Missing values for city, order."]}
    assert error["message"] == "Missing values for city, order."
    send(api, 422, template_id=template["id"])


@pytest.mark.parametrize("value", [None, True, [1], {"a": 1}])
def test_a_value_of_another_type_is_422_on_personalisation(api, template, value):
    error = send(
        api, 422, template_id=template["id"], personalisation={**VALUES, "order": value}
    ).get_json()
    assert list(error["errors"]["json"]) == ["personalisation"]
    assert "order must be a string or a number" in error["message"]


def test_the_rendered_text_must_pass_the_notification_rules(api, make_template):
    sms = make_template(channel="sms", title="Code", content="{{ text }}")
    error = send(
        api, 422, template_id=sms["id"], target="+14155552671", personalisation={"text": "€" * 900}
    ).get_json()
    assert list(error["errors"]["json"]) == ["personalisation"]
    assert "the rendered content: The SMS needs 12 segments" in error["message"]
    email = make_template(title="{{ subject }}")
    error = send(
        api, 422, template_id=email["id"], personalisation={**VALUES, "subject": "a\r\nBcc: x"}
    ).get_json()
    assert "the rendered title" in error["message"]


def test_the_target_is_checked_for_the_templates_channel(api, make_template):
    sms = make_template(channel="sms", title="Code", content="Code {{ code }}")
    body = send(
        api, template_id=sms["id"], target="+1 415 555 2671", personalisation={"code": 1234}
    ).get_json()
    assert (body["channel"], body["target"], body["content"]) == (
        "sms",
        "+14155552671",
        "Code 1234",
    )
    error = send(api, 422, template_id=sms["id"], personalisation={"code": 1}).get_json()
    assert list(error["errors"]["json"]) == ["target"]


def test_put_and_patch_edit_the_stored_text_and_keep_the_origin(api, template):
    sent = send(api, template_id=template["id"], personalisation=VALUES).get_json()
    path = f"/notifications/{sent['id']}"
    patched = api.patch(path, 200, json={"title": "Fixed"}).get_json()
    assert (patched["title"], patched["content"]) == ("Fixed", sent["content"])
    assert (patched["template_id"], patched["template_version"]) == (template["id"], 1)
    replaced = api.put(
        path,
        200,
        json={"title": "T", "content": "C", "channel": "email", "target": "b@example.com"},
    ).get_json()
    assert (replaced["template_id"], replaced["template_version"]) == (template["id"], 1)
    api.patch(path, 422, json={"template_id": template["id"]})


def test_reference_is_stored_edited_and_filtered(api, template):
    tagged = api.create(reference="order-42").get_json()
    send(api, template_id=template["id"], personalisation=VALUES, reference="order-42")
    api.create()
    assert tagged["reference"] == "order-42"
    listed = api.get("/notifications?reference=order-42")
    assert [n["reference"] for n in listed.get_json()] == ["order-42", "order-42"]
    assert '"total": 2' in listed.headers["X-Pagination"]
    assert api.get("/notifications?reference=order-4").get_json() == []
    path = f"/notifications/{tagged['id']}"
    assert api.patch(path, 200, json={"reference": None}).get_json()["reference"] is None
    api.patch(path, 200, json={"reference": "again"})
    put = {"title": "T", "content": "C", "channel": "email", "target": "a@example.com"}
    assert api.put(path, 200, json=put).get_json()["reference"] is None
    api.create(422, reference="r" * 256)
    api.create(422, reference="")
    api.get("/notifications?reference=" + "r" * 256, 422)


def test_the_template_id_filter_narrows_the_list_with_its_own_total(api, make_template):
    first, second = make_template(), make_template()
    for template in (first, second, first):
        send(api, template_id=template["id"], personalisation=VALUES)
    api.create()
    listed = api.get(f"/notifications?template_id={first['id']}&page_size=1")
    assert [n["template_id"] for n in listed.get_json()] == [first["id"]]
    assert '"total": 2' in listed.headers["X-Pagination"]
    page = api.get(f"/notifications?template_id={first['id']}&status=pending&page=3&page_size=1")
    assert page.get_json() == [] and '"total": 2' in page.headers["X-Pagination"]
    api.get("/notifications?template_id=abc", 422)
    api.get("/notifications?template_id=0", 422)


def test_idempotent_template_sends_replay_and_refuse_other_values(api, template):
    headers = {"Idempotency-Key": "tpl-1"}
    body = {"template_id": template["id"], "personalisation": VALUES, "target": "a@example.com"}
    first = api.post("/notifications", 201, json=body, headers=headers)
    again = api.post("/notifications", 201, json=body, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    other = {**body, "personalisation": {**VALUES, "order": 43}}
    api.post("/notifications", 422, json=other, headers=headers)


@pytest.mark.parametrize(
    ("channel", "target", "details"),
    [
        ("email", "ada@example.com", {}),
        ("sms", "+14155552671", {"encoding": "GSM-7", "segments": 1}),
        ("push", PUSH_TOKEN, {"payload_bytes": 87}),  # the JSON {"title","body"}
    ],
)
def test_preview_answers_exactly_what_a_send_stores(api, make_template, channel, target, details):
    template = make_template(channel=channel)
    path = f"/templates/{template['id']}/preview"
    preview = api.post(path, 200, json={"personalisation": VALUES}).get_json()
    assert preview == {
        "channel": channel,
        "version": 1,
        "title": "Order 42 shipped",
        "content": "Hello Ada, your order 42 is on its way to London.",
        "details": details,
    }
    sent = send(api, template_id=template["id"], target=target, personalisation=VALUES).get_json()
    assert (sent["title"], sent["content"]) == (preview["title"], preview["content"])


def test_preview_of_a_version_and_its_errors(api, template):
    path = f"/templates/{template['id']}"
    api.patch(path, 200, json={"content": "v2 {{ order }}"})
    old = api.post(f"{path}/preview", 200, json={"personalisation": VALUES, "version": 1})
    assert old.get_json()["version"] == 1 and old.get_json()["content"].startswith("Hello Ada")
    new = api.post(f"{path}/preview", 200, json={"personalisation": {"order": "A-1"}})
    assert (new.get_json()["version"], new.get_json()["content"]) == (2, "v2 A-1")
    error = api.post(f"{path}/preview", 422, json={"personalisation": {}, "version": 9})
    assert list(error.get_json()["errors"]["json"]) == ["version"]
    error = api.post(f"{path}/preview", 422, json={"personalisation": {}})
    assert error.get_json()["errors"]["json"] == {"personalisation": ["Missing a value for order."]}
    api.post(f"{path}/preview", 422, json={"personalisation": {}, "target": "x"})


def test_preview_sms_details_count_ucs2_segments(api, make_template):
    template = make_template(channel="sms", title="T", content="{{ text }}")
    preview = api.post(
        f"/templates/{template['id']}/preview",
        200,
        json={"personalisation": {"text": "é€ü" + "ж" * 70}},
    ).get_json()
    assert preview["details"] == {"encoding": "UCS-2", "segments": 2}


def test_a_send_after_an_edit_uses_the_new_version_every_time(api, template):
    path = f"/templates/{template['id']}"
    first = send(api, template_id=template["id"], personalisation=VALUES).get_json()
    api.patch(path, 200, json={"title": "Second {{ order }}"})
    second = send(api, template_id=template["id"], personalisation=VALUES).get_json()
    api.patch(path, 200, json={"title": "Third {{ order }}"})
    third = send(api, template_id=template["id"], personalisation=VALUES).get_json()
    pinned = send(
        api, template_id=template["id"], template_version=2, personalisation=VALUES
    ).get_json()
    assert [n["title"] for n in (first, second, third, pinned)] == [
        "Order 42 shipped",
        "Second 42",
        "Third 42",
        "Second 42",
    ]
    assert [n["template_version"] for n in (first, second, third, pinned)] == [1, 2, 3, 2]
    api.delete(path, 204)
    send(api, 422, template_id=template["id"], template_version=2, personalisation=VALUES)


def test_a_logged_out_token_cannot_send_a_template_it_sent_before(api, template):
    send(api, template_id=template["id"], personalisation=VALUES)
    api.post("/auth/logout", 204)
    send(api, 401, template_id=template["id"], personalisation=VALUES)
