"""Hostile templates and values get a 422 (or 413 past the body limit), never a 500."""

from __future__ import annotations

import json

import pytest

from tests.notifier.templates.conftest import ORDER, VALUES, send

BODY_LIMIT = 65_536


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("content", "{" * 4_999),
        ("content", "{{" + " " * 4_990),
        ("content", "{{ a }}" * 714 + "{%"),
        ("title", "{{" * 100),
        ("content", "x\x00{{ a }}"),
        ("content", "\udfff{{ a }}"),
        ("name", "\ud83d"),
        ("title", "{{ a }}\u2028{{ b }}"),
    ],
)
def test_a_hostile_template_is_422(api, field, value):
    response = api.post("/templates", 422, json={**ORDER, field: value})
    assert field in response.get_json()["errors"]["json"]


def test_a_hundred_thousand_braces_are_413_or_422_never_500(api, template):
    braces = "{" * 100_000
    assert api.post("/templates", json={**ORDER, "content": braces}).status_code == 413
    within = "{" * 60_000
    api.post("/templates", 422, json={**ORDER, "content": within})
    path = f"/templates/{template['id']}/preview"
    api.post(path, 200, json={"personalisation": {**VALUES, "name": within[:4000]}})


@pytest.mark.parametrize(
    "value",
    ["\x00", "\ud800", "a\udfffb", "line\nbreak\r\n", "\x1b[31m", "x" * 64_000],
)
def test_a_hostile_value_is_422_on_personalisation_or_413(api, template, value):
    values = {**VALUES, "order": value}
    body = {"template_id": template["id"], "personalisation": values, "target": "a@example.com"}
    size = len(json.dumps(body).encode())
    response = api.post("/notifications", json=body)
    if size > BODY_LIMIT:
        assert response.status_code == 413
        return
    assert response.status_code in {201, 422}, response.get_json()
    if response.status_code == 422:
        assert list(response.get_json()["errors"]["json"]) == ["personalisation"]
    preview = api.post(f"/templates/{template['id']}/preview", json={"personalisation": values})
    assert preview.status_code == {201: 200, 422: 422}[response.status_code]


def test_a_value_near_the_body_limit_is_422_on_personalisation(api, template):
    value = "v" * (BODY_LIMIT - 300)
    error = send(
        api, 422, template_id=template["id"], personalisation={**VALUES, "city": value}
    ).get_json()
    assert "the rendered content: Length must be between 1 and 5000" in error["message"]


def test_unusable_unused_values_are_ignored(api, template):
    values = {**VALUES, "\ud800": "\ud800", "nul\x00": "\x00", "deep": [[[{"a": None}]]]}
    body = send(api, template_id=template["id"], personalisation=values).get_json()
    assert body["title"] == "Order 42 shipped"
    headers = {"Idempotency-Key": "hostile"}
    request = {"template_id": template["id"], "personalisation": values, "target": "a@example.com"}
    api.post("/notifications", 201, json=request, headers=headers)
    again = api.post("/notifications", 201, json=request, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"


def test_placeholder_names_in_values_are_not_rendered_again(api, template):
    values = {**VALUES, "name": "{{ city }} {% evil %}"}
    body = send(api, template_id=template["id"], personalisation=values).get_json()
    assert body["content"].startswith("Hello {{ city }} {% evil %}, your order")


def test_a_template_of_many_placeholders_names_every_missing_one(api):
    content = " ".join(f"{{{{p{n}}}}}" for n in range(500))
    template = api.post("/templates", 201, json={**ORDER, "content": content}).get_json()
    assert len(template["placeholders"]) == 501
    error = send(api, 422, template_id=template["id"], personalisation={"order": 1}).get_json()
    assert error["message"].count(", ") == 499
