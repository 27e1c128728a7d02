"""API keys and templates: reads with the opt-in `templates:read` scope, never writes."""

from __future__ import annotations

from tests.notifier.templates.conftest import ORDER, VALUES, send

DEFAULT_SCOPES = ["notifications:send", "notifications:read", "notifications:write"]


def _reads(template_id: int) -> list[tuple[str, str, dict | None]]:
    path = f"/templates/{template_id}"
    return [
        ("GET", "/templates", None),
        ("GET", path, None),
        ("GET", f"{path}/versions", None),
        ("GET", f"{path}/versions/1", None),
        ("POST", f"{path}/preview", {"personalisation": VALUES}),
    ]


def test_templates_read_is_opt_in_not_a_default_scope(api, make_key):
    _, default = make_key()
    assert default["scopes"] == DEFAULT_SCOPES
    _, reader = make_key(scopes=["templates:read"])
    assert reader["scopes"] == ["templates:read"]
    _, everything = make_key(scopes=[*DEFAULT_SCOPES, "templates:read"])
    assert everything["scopes"] == [*DEFAULT_SCOPES, "templates:read"]
    assert api.get(f"/api-keys/{everything['id']}").get_json()["scopes"] == everything["scopes"]


def test_a_key_with_templates_read_reads_lists_and_previews(api, make_key, template):
    reader, _ = make_key(scopes=["templates:read"])
    for method, path, body in _reads(template["id"]):
        response = reader.request(method, path, json=body)
        assert response.status_code == 200, (method, path, response.get_json())
    assert reader.get(f"/templates/{template['id']}").get_json() == template


def test_a_key_without_templates_read_gets_403_naming_the_scope(make_key, template):
    sender, _ = make_key()
    for method, path, body in _reads(template["id"]):
        error = sender.request(method, path, 403, json=body).get_json()
        assert error["message"] == "This API key does not have the templates:read scope."


def test_a_key_never_writes_templates(make_key, template):
    reader, _ = make_key(scopes=[*DEFAULT_SCOPES, "templates:read"])
    path = f"/templates/{template['id']}"
    reader.post("/templates", 403, json=ORDER)
    reader.put(path, 403, json={"name": "n", "title": "t", "content": "c"})
    reader.patch(path, 403, json={"name": "n"})
    reader.delete(path, 403)


def test_a_key_sends_a_template_with_notifications_send_alone(make_key, template):
    sender, key = make_key(scopes=["notifications:send"])
    body = send(sender, template_id=template["id"], personalisation=VALUES).get_json()
    assert (body["template_id"], body["api_key_id"]) == (template["id"], key["id"])
    reader, _ = make_key(scopes=["templates:read"])
    send(reader, 403, template_id=template["id"], personalisation=VALUES)


def test_a_test_keys_template_send_is_sandboxed(make_key, template):
    sandboxed, _ = make_key(mode="test")
    body = send(sandboxed, template_id=template["id"], personalisation=VALUES).get_json()
    assert body["sandbox"] is True and body["title"] == "Order 42 shipped"


def test_a_key_reads_only_its_users_templates(other_api, make_key, make_template):
    theirs = make_template(client=other_api)
    reader, _ = make_key(scopes=["templates:read", "notifications:send"])
    reader.get(f"/templates/{theirs['id']}", 404)
    reader.post(f"/templates/{theirs['id']}/preview", 404, json={"personalisation": VALUES})
    assert reader.get("/templates").get_json() == []
    send(reader, 422, template_id=theirs["id"], personalisation=VALUES)


def test_a_deleted_key_is_401_on_template_reads(api, make_key, template):
    reader, key = make_key(scopes=["templates:read"])
    api.delete(f"/api-keys/{key['id']}", 204)
    reader.get("/templates", 401)
    reader.post(f"/templates/{template['id']}/preview", 401, json={"personalisation": VALUES})


def test_a_logged_out_token_is_401_on_preview_and_template_sends(api, template):
    api.post("/auth/logout", 204)
    api.post(f"/templates/{template['id']}/preview", 401, json={"personalisation": VALUES})
    send(api, 401, template_id=template["id"], personalisation=VALUES)
    send(api, 401, template_id=template["id"] + 1, personalisation=VALUES)
