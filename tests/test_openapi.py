"""The OpenAPI document and Swagger UI, served without internet."""

import re


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
    assert parameter["schema"] == {"type": "integer", "minimum": 1}


def test_views_have_summaries(client):
    spec = client.get("/openapi.json").get_json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
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
