"""The HTTP API reference, rendered to Markdown from the app's own OpenAPI document.

Every operation gets its method and path, summary and description, who may call it
(read from the `auth_requirement` that `notifier.auth.principal.auth_required` puts on
each view), its parameters, the fields of its request body with their rules, and its
responses. The schemas follow, one table each. Run it alone to print the page body:
`.venv/bin/python docs/hooks/api_reference.py`.
"""

from __future__ import annotations

import re
from functools import cache

from docs_app import app, openapi

METHODS = ("get", "post", "put", "patch", "delete")
IMPLIED_ERRORS = {
    "401": "no credential, or one that is invalid, expired or revoked",
    "403": "an API key outside its scopes, or on a route keys may not call",
    "404": "no such resource among yours",
    "400": "a body that is not JSON",
    "413": "a body over 64 KiB",
}


@cache
def _pattern_words() -> dict[str, str]:
    """The document's patterns in words; one not named here is printed as it is."""
    app()  # puts the project on sys.path (MkDocs restores it after loading a hook)
    from notifier.openapi import LINE_PATTERN, TEXT_PATTERN
    from notifier.receipts.twilio import FORM_PATTERNS
    from notifier.webhooks.schemas import URL_PATTERN

    return {
        FORM_PATTERNS["MessageSid"]: "a message id: 2 to 64 letters, digits, `.`, `_` or `-`",
        FORM_PATTERNS["MessageStatus"]: "one word of letters, `_` or `-` (up to 32)",
        FORM_PATTERNS["ErrorCode"]: "1 to 10 digits",
        LINE_PATTERN: "one line, not blank, no control character",
        TEXT_PATTERN: "no control character but tab and line breaks",
        URL_PATTERN: "an `https://` URL with a host name",
        r"^[\x21-\x7e]+$": "printable ASCII, no spaces",
    }


def render() -> str:
    spec = openapi()
    auth = _auth_requirements()
    out = [_intro(spec)]
    for tag in spec.get("tags", []):
        out.append(f"## {_title(tag['name'])}\n\n{tag.get('description', '')}\n")
        for path, item in spec["paths"].items():
            for method in METHODS:
                operation = item.get(method)
                if operation and tag["name"] in operation.get("tags", []):
                    shared = item.get("parameters", [])
                    out.append(_operation(spec, method, path, operation, shared, auth))
    out.append("## Schemas\n")
    for name, schema in spec["components"]["schemas"].items():
        out.append(f"### {name} {{#{_schema_anchor(name)}}}\n")
        if schema.get("description"):
            out.append(schema["description"] + "\n")
        out.append(_fields(spec, schema) + "\n")
    return "\n".join(out)


def _intro(spec: dict) -> str:
    info = spec["info"]
    lines = [f"*{info['title']} {info['version']}, OpenAPI {spec['openapi']}.*\n"]
    if info.get("description"):
        lines.append(info["description"].strip() + "\n")
    for name, scheme in spec["components"].get("securitySchemes", {}).items():
        lines.append(
            f"**Authentication** (`{name}`): `Authorization: Bearer <token>`. "
            f"{scheme.get('description', '')}\n"
        )
    return "\n".join(lines)


def _operation(spec, method, path, operation, shared, auth) -> str:
    anchor = "op-" + re.sub(r"[^a-z0-9]+", "-", f"{method} {path}".lower()).strip("-")
    lines = [f"### `{method.upper()} {path}` {{#{anchor}}}\n"]
    lines.append(f"**{operation.get('summary', '')}**\n")
    if operation.get("description"):
        lines.append(operation["description"].strip() + "\n")
    public = operation.get("security", spec.get("security")) == []
    requirement = auth.get((method.upper(), path))
    lines.append(f"**Who may call it:** {_who(public, requirement)}\n")
    parameters = shared + operation.get("parameters", [])
    if parameters:
        lines.append("**Parameters**\n")
        lines.append("| name | in | type | required | rules and meaning |\n|---|---|---|---|---|")
        for parameter in parameters:
            schema = parameter.get("schema", {})
            rules = _rules(schema, parameter.get("description"))
            lines.append(
                f"| `{parameter['name']}` | {parameter['in']} | {_type(spec, schema)} | "
                f"{'yes' if parameter.get('required') else 'no'} | {rules} |"
            )
        lines.append("")
    body = operation.get("requestBody")
    if body:
        media_type, content = next(iter(body["content"].items()))
        schema = content["schema"]
        name = _ref_name(schema)
        kind = "JSON" if media_type == "application/json" else f"`{media_type}`"
        lines.append(f"**Request body** ({kind}{f', {_schema_link(name)}' if name else ''})\n")
        lines.append(_fields(spec, _resolve(spec, schema), request=True) + "\n")
    lines.append("**Responses**\n")
    lines.append("| status | meaning | body |\n|---|---|---|")
    responses = operation["responses"]
    for status, response in sorted(responses.items(), key=lambda kv: (kv[0] == "default", kv[0])):
        response = _resolve(spec, response)
        content = response.get("content", {}).get("application/json", {})
        headers = ", ".join(f"`{h}` header" for h in response.get("headers", {}))
        if "schema" in content:
            body_type = _type(spec, content["schema"])
        else:  # every error leaves in the one error shape, documented or not
            body_type = _schema_link("Error") if status >= "400" else "—"
        meaning = "any other error" if status == "default" else response.get("description", "")
        lines.append(f"| {status} | {meaning} | {body_type}{'; ' + headers if headers else ''} |")
    implied = _implied(public, requirement, path, body, responses)
    if implied:
        lines.append("")
        lines.append(
            "Errors every route of this kind may answer, in the error shape: "
            + "; ".join(f"**{status}** {why}" for status, why in implied)
            + "."
        )
    return "\n".join(lines) + "\n"


def _who(public: bool, requirement: dict | None) -> str:
    if public:
        return "anyone (no credential)"
    if requirement is None:
        return "an access token"
    if requirement["refresh"]:
        return "a **refresh** token (not an access token, not an API key)"
    if requirement["scope"]:
        return f"an access token, or an API key with the `{requirement['scope']}` scope"
    return "an access token (API keys get 403)"


def _implied(public, requirement, path, body, responses) -> list[tuple[str, str]]:
    implied = []
    if not public:
        implied.append("401")
        implied.append("403")
    if "{" in path:
        implied.append("404")
    if body:
        implied += ["400", "413"]
    return [(status, IMPLIED_ERRORS[status]) for status in implied if status not in responses]


def _auth_requirements() -> dict[tuple[str, str], dict]:
    """(METHOD, OpenAPI path) → the view's `auth_requirement`, for each route that has one."""
    flask_app = app()
    found = {}
    for rule in flask_app.url_map.iter_rules():
        view = flask_app.view_functions[rule.endpoint]
        view_class = getattr(view, "view_class", None)
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            handler = getattr(view_class, method.lower(), None) if view_class else view
            requirement = getattr(handler, "auth_requirement", None)
            if requirement is not None:
                found[(method, path)] = requirement
    return found


def _fields(spec: dict, schema: dict, request: bool = False) -> str:
    schema = _resolve(spec, schema)
    if schema.get("type") == "array":
        return f"An array of {_type(spec, schema['items'])}."
    properties = schema.get("properties", {})
    if not properties:
        return "No fields."
    required = set(schema.get("required", []))
    rows = ["| field | type | required | rules and meaning |", "|---|---|---|---|"]
    for name, field in properties.items():
        if request and field.get("readOnly"):
            continue
        rows.append(
            f"| `{name}` | {_type(spec, field)} | {'yes' if name in required else 'no'} | "
            f"{_rules(field, field.get('description'))} |"
        )
    if schema.get("additionalProperties") is False and request:
        rows.append("\nAny other field is refused (422).")
    return "\n".join(rows)


def _rules(field: dict, description: str | None) -> str:
    rules = []
    if "minLength" in field or "maxLength" in field:
        rules.append(f"{_span(field.get('minLength'), field.get('maxLength'))} characters")
    if "minimum" in field or "maximum" in field:
        rules.append(f"from {field.get('minimum', '-inf')} to {field.get('maximum', 'inf')}")
    if "minItems" in field or "maxItems" in field:
        rules.append(f"{_span(field.get('minItems'), field.get('maxItems'))} items")
    if field.get("uniqueItems"):
        rules.append("no duplicates")
    enum = field.get("enum") or field.get("items", {}).get("enum")
    if enum:
        rules.append("one of " + ", ".join(f"`{value}`" for value in enum))
    if "pattern" in field:
        pattern = field["pattern"]
        rules.append(_pattern_words().get(pattern) or f"matches `{pattern}`")
    if "default" in field:
        rules.append(f"default `{_json(field['default'])}`")
    if field.get("nullable"):
        rules.append("may be `null`")
    if field.get("readOnly"):
        rules.append("in answers only")
    if field.get("writeOnly"):
        rules.append("in requests only")
    text = "; ".join(rules)
    if description:
        text = f"{text}. {description}" if text else description
    return text.replace("|", "\\|").replace("\n", " ") or "—"


def _span(low, high) -> str:
    if low is not None and high is not None:
        return f"{low} to {high}"
    return f"at least {low}" if low is not None else f"at most {high}"


def _type(spec: dict, schema: dict) -> str:
    name = _ref_name(schema)
    if name:
        return _schema_link(name)
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {_type(spec, schema.get('items', {}))}"
    if schema.get("format"):
        return f"{kind} ({schema['format']})"
    return kind


def _resolve(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        section, name = node["$ref"].split("/")[-2:]
        node = spec["components"][section][name]
    return node


def _ref_name(schema: dict) -> str | None:
    ref = schema.get("$ref", "")
    return ref.rsplit("/", 1)[-1] if ref.startswith("#/components/schemas/") else None


def _schema_link(name: str) -> str:
    return f"[{name}](#{_schema_anchor(name)})"


def _schema_anchor(name: str) -> str:
    return "schema-" + name.lower()


def _title(tag: str) -> str:
    return {"api_keys": "API keys"}.get(tag, tag.replace("_", " ").capitalize())


def _json(value) -> str:
    if value is True or value is False:
        return str(value).lower()
    return "null" if value is None else str(value)


if __name__ == "__main__":
    print(render())
