"""The OpenAPI document and Swagger UI, served without internet."""

import re

from notifier.extensions import db
from tests.openapi_support import operations


def test_spec_declares_bearer_auth_and_public_routes(client):
    spec = client.get("/openapi.json").get_json()
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    # One bearer scheme for both credentials: Swagger's "Authorize" takes either.
    assert {key: scheme[key] for key in ("type", "scheme", "bearerFormat")} == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT or API key",
    }
    assert "API key" in scheme["description"]
    assert spec["security"] == [{"bearerAuth": []}]
    paths = spec["paths"]
    assert paths["/users"]["post"]["security"] == []
    assert paths["/auth/login"]["post"]["security"] == []
    assert paths["/health"]["get"]["security"] == []
    assert "security" not in paths["/notifications"]["get"]
    assert {"/notifications/{notification_id}", "/notifications/{notification_id}/attempts"} <= set(
        paths
    )
    assert {"/api-keys", "/api-keys/{key_id}"} <= set(paths)
    assert "security" not in paths["/api-keys"]["post"]
    created = paths["/api-keys"]["post"]["responses"]["201"]["content"]["application/json"]
    assert (
        "key"
        in spec["components"]["schemas"][created["schema"]["$ref"].rsplit("/", 1)[1]]["properties"]
    )
    sandbox = [p for p in paths["/notifications"]["get"]["parameters"] if p["name"] == "sandbox"]
    assert sandbox and sandbox[0]["schema"]["type"] == "boolean"


def test_swagger_shows_an_introduction_that_says_where_to_start(client):
    description = client.get("/openapi.json").get_json()["info"]["description"]
    for words in ("POST /users", "POST /auth/login", "Authorize", "API key", "Idempotency-Key"):
        assert words in description
    assert client.get("/openapi.json").get_json()["paths"]["/"]["get"]["security"] == []


def test_spec_documents_the_id_as_a_positive_integer(client):
    spec = client.get("/openapi.json").get_json()
    parameter = spec["paths"]["/notifications/{notification_id}"]["parameters"][0]
    assert parameter["schema"] == {
        "type": "integer",
        "format": "int64",
        "minimum": 1,
        "maximum": 2**63 - 1,
    }


def test_views_have_summaries(client):
    spec = client.get("/openapi.json").get_json()
    for path, method, operation in operations(spec):
        assert operation.get("summary"), (method, path)


def test_docs_page_loads_its_assets_from_this_server(client):
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources
    for source in sources:
        assert source.startswith("/"), source
        assert client.get(source).status_code == 200, source


# Every answer schema that shows a table's row, by component name. An answer
# schema missing here fails the test below: add it, with its table.
ROW_ANSWERS = {
    "User": "users",
    "Notification": "notifications",
    "DeliveryAttempt": "delivery_attempts",
    "ApiKey": "api_keys",
    "ApiKeyWithSecret": "api_keys",
    "Webhook": "webhooks",
    "WebhookWithSecret": "webhooks",
    "Delivery": "webhook_deliveries",
    "Template": "templates",
    "TemplateVersion": "template_versions",
    "Batch": "batches",
    "Suppression": "suppressions",
}
OTHER_ANSWERS = {"Status", "Tokens", "AccessToken", "Index", "PreviewResult"}
# Fields whose values come from a closed list, wherever an answer has them.
ENUM_FIELDS = {"status", "channel", "outcome", "mode", "event_type", "events", "scopes"}


def _answer_schemas(spec) -> set[str]:
    names = set()
    for _path, _method, operation in operations(spec):
        for status, response in operation["responses"].items():
            if status.startswith("2") and "content" in response:
                schema = response["content"]["application/json"]["schema"]
                names.add(schema.get("items", schema)["$ref"].rsplit("/", 1)[1])
    return names


def test_every_answer_field_that_can_be_null_is_nullable_in_the_document(app, client):
    spec = client.get("/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    answers = _answer_schemas(spec)
    assert answers == set(ROW_ANSWERS) | OTHER_ANSWERS
    checked = 0
    for name, table_name in ROW_ANSWERS.items():
        columns = db.metadata.tables[table_name].columns
        properties = schemas[name]["properties"]
        # The API sends every field of an answer, null or not: a client may rely on it.
        assert sorted(schemas[name]["required"]) == sorted(properties), name
        for field, prop in properties.items():
            if field in columns:
                checked += 1
                assert prop.get("nullable", False) == columns[field].nullable, (name, field)
    assert checked > 40


def test_every_status_and_channel_in_an_answer_is_an_enum(client):
    spec = client.get("/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    seen = set()
    for name in _answer_schemas(spec):
        for field, prop in schemas[name]["properties"].items():
            if field in ENUM_FIELDS:
                seen.add(field)
                assert prop.get("enum") or prop.get("items", {}).get("enum"), (name, field)
    assert seen == ENUM_FIELDS
    notification = schemas["Notification"]["properties"]
    assert notification["status"]["enum"] == [
        "pending",
        "sending",
        "sent",
        "failed",
        "cancelled",
        "delivered",
    ]
    assert notification["channel"]["enum"] == ["email", "sms", "push"]


def test_every_error_answer_is_documented_in_the_error_shape(client):
    spec = client.get("/openapi.json").get_json()
    error = spec["components"]["schemas"]["Error"]
    assert sorted(error["required"]) == ["code", "message", "status"]
    responses = spec["components"]["responses"]
    for path, method, operation in operations(spec):
        for status, response in operation["responses"].items():
            if status[0] not in "45" and status != "default":
                continue
            if "$ref" in response:
                response = responses[response["$ref"].rsplit("/", 1)[1]]
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)
