"""The OpenAPI document lists the template routes and explains the placeholder syntax."""

from __future__ import annotations

ROUTES = {
    "/templates": {"get", "post"},
    "/templates/{template_id}": {"get", "put", "patch", "delete"},
    "/templates/{template_id}/versions": {"get"},
    "/templates/{template_id}/versions/{version}": {"get"},
    "/templates/{template_id}/preview": {"post"},
}


def test_the_spec_lists_every_template_route_with_a_summary(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    for path, methods in ROUTES.items():
        assert methods <= set(paths[path]), path
        for method in methods:
            assert paths[path][method]["summary"], (method, path)
    assert "X-Pagination" in paths["/templates"]["get"]["responses"]["200"]["headers"]


def test_the_template_schema_explains_the_placeholder_syntax(client):
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    for name in ("TemplateCreate", "Template"):
        description = schemas[name]["description"]
        assert "{{ name }}" in description and "{%" in description, name
    send = schemas["NotificationSend"]["properties"]
    assert {"template_id", "template_version", "personalisation", "reference"} <= set(send)
    assert {"template_id", "template_version", "reference"} <= set(
        schemas["Notification"]["properties"]
    )


def test_the_notification_list_documents_its_new_filters(client):
    spec = client.get("/openapi.json").get_json()
    names = {p["name"] for p in spec["paths"]["/notifications"]["get"]["parameters"]}
    assert {"template_id", "reference"} <= names
