"""Reading the served OpenAPI document as plain JSON Schema, for generators and validators.

OpenAPI 3.0 schemas are JSON Schema with two differences that matter here:
`nullable: true` (JSON Schema says `type: [..., "null"]`) and references into
`components`. `json_schema` turns one into the other, so hypothesis-jsonschema can
generate bodies from the document and jsonschema can check answers against it.
"""

from __future__ import annotations

from typing import Any

import jsonschema


def operation(spec: dict, path: str, method: str) -> dict:
    return spec["paths"][path][method.lower()]


def resolve(spec: dict, node: Any) -> Any:
    """`node` with every `$ref` replaced by what it names, `nullable` made JSON Schema."""
    if isinstance(node, list):
        return [resolve(spec, item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return resolve(spec, target)
    converted = {key: resolve(spec, value) for key, value in node.items()}
    if converted.pop("nullable", False):
        if "type" in converted:
            converted["type"] = [converted["type"], "null"]
        if "enum" in converted:
            converted["enum"] = [*converted["enum"], None]
    converted.pop("readOnly", None)
    return converted


def request_schema(spec: dict, path: str, method: str) -> dict:
    body = operation(spec, path, method)["requestBody"]
    return resolve(spec, body["content"]["application/json"]["schema"])


def response_schema(spec: dict, path: str, method: str, status: int) -> dict:
    response = resolve(spec, operation(spec, path, method)["responses"][str(status)])
    return response["content"]["application/json"]["schema"]


def check_answer(spec: dict, path: str, method: str, response) -> None:
    """The answer's body is what the document says for its status."""
    schema = response_schema(spec, path, method, response.status_code)
    jsonschema.validate(
        response.get_json(), schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )


def branches_spelled_out(schema: dict) -> dict:
    """The same object schema, its `allOf: [{anyOf: [...]}]` of property rules
    (a notification's target per channel) turned into one full schema per branch.

    hypothesis-jsonschema draws from the base schema and filters by the branch
    when a property has a pattern in both; a phone number or a device token then
    almost never comes out. Each branch's rule replaces the base's for that
    property, which is sound only if it implies it: the caller checks every
    drawn body against the document's schema as it is. Rules after the first
    (the create's message-or-template forms) stay with every branch.
    """
    rules = schema.get("allOf")
    if not rules:
        return schema
    base = {key: value for key, value in schema.items() if key != "allOf"}
    rule, *others = rules
    return {
        "anyOf": [
            {
                **base,
                "properties": {
                    name: {**prop, **branch["properties"].get(name, {})}
                    for name, prop in base["properties"].items()
                },
                **({"allOf": others} if others else {}),
            }
            for branch in rule["anyOf"]
        ]
    }


def operations(spec: dict):
    """(path, method, operation) for every operation of the document."""
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield path, method, operation
