"""Our `paginate` answers and documents exactly what flask-smorest's own does
(but for a bound on `page`, on every paginated route), and builds no marshmallow
schema per request."""

import json
import re

import flask_smorest
import marshmallow as ma
import pytest
from flask import Flask, jsonify
from flask.views import MethodView

from notifier.pagination import MAX_PAGE
from notifier.web import Blueprint


class SmorestBlueprint(flask_smorest.Blueprint):
    """smorest's own pagination, with our defaults."""

    DEFAULT_PAGINATION_PARAMETERS = Blueprint.DEFAULT_PAGINATION_PARAMETERS


ITEMS = ma.Schema.from_dict({"n": ma.fields.Integer()}, name="Item")(many=True)


def _route(blp, *, as_response: bool) -> None:
    """A list of `count` items in all, paged in the view as ours are."""

    @blp.route("/<int:count>")
    class Items(MethodView):
        @blp.response(200, ITEMS)
        @blp.paginate()
        def get(self, pagination_parameters, count):
            """List items"""
            first = (pagination_parameters.page - 1) * pagination_parameters.page_size
            last = min(first + pagination_parameters.page_size, count)
            items = [{"n": n} for n in range(first, last)]
            pagination_parameters.item_count = count
            return jsonify(items) if as_response else items


@pytest.fixture(scope="module", params=[False, True], ids=["body", "response"])
def twin_app(request):
    """One app, one Api: the same route paginated by smorest and by us."""
    app = Flask(__name__)
    app.config |= {"API_TITLE": "t", "API_VERSION": "1", "OPENAPI_VERSION": "3.0.3"}
    api = flask_smorest.Api(app)
    for blp in (SmorestBlueprint("theirs", __name__), Blueprint("ours", __name__)):
        _route(blp, as_response=request.param)
        api.register_blueprint(blp, url_prefix=f"/{blp.name}")
    return app, api


QUERIES = [
    f"?page={page}&page_size={size}" for page in (1, 2, 5, 5000) for size in (1, 20, 100)
] + ["", "?page=3", "?page_size=7", "?page=0", "?page_size=101", "?page=x", "?other=1"]


def test_answers_are_smorests_byte_for_byte(twin_app):
    client = twin_app[0].test_client()
    for count in (0, 1, 19, 20, 21, 100, 100_000):
        for query in QUERIES:
            theirs = client.get(f"/theirs/{count}{query}")
            ours = client.get(f"/ours/{count}{query}")
            where = f"{count}{query}"
            assert ours.status_code == theirs.status_code, where
            assert ours.get_data() == theirs.get_data(), where
            assert ours.headers.get("X-Pagination") == theirs.headers.get("X-Pagination"), where


def test_documentation_is_smorests(twin_app):
    spec = twin_app[1].spec.to_dict()
    theirs = spec["paths"]["/theirs/{count}"]["get"]
    ours = spec["paths"]["/ours/{count}"]["get"]
    # One difference: our `page` has a maximum.
    page = next(p for p in ours["parameters"] if p["name"] == "page")
    assert page["schema"].pop("maximum") == MAX_PAGE
    assert ours["parameters"] == theirs["parameters"]
    assert ours["responses"] == theirs["responses"]
    assert ours["responses"]["200"]["headers"] == {
        "X-Pagination": {"$ref": "#/components/headers/PAGINATION"}
    }


def test_a_view_that_forgets_the_total_is_an_error(app):
    blp = Blueprint("forgetful", __name__)

    @blp.paginate()
    def view(pagination_parameters):
        return []

    with app.test_request_context("/?page=2"), pytest.raises(RuntimeError, match="item_count"):
        view()


def test_a_list_request_builds_no_schema(api, monkeypatch):
    for _ in range(3):
        api.create()
    api.get("/notifications?page=1&page_size=2")  # warm: anything built once is built
    built = []
    original = ma.Schema.__init__

    def counting_init(self, *args, **kwargs):
        built.append(type(self).__name__)
        original(self, *args, **kwargs)

    monkeypatch.setattr(ma.Schema, "__init__", counting_init)
    response = api.get("/notifications?status=pending&page=2&page_size=2")
    assert json.loads(response.headers["X-Pagination"])["page"] == 2
    assert built == []


def test_x_pagination_of_a_middle_page(api):
    for _ in range(5):
        api.create()
    response = api.get("/notifications?page=2&page_size=2")
    assert json.loads(response.headers["X-Pagination"]) == {
        "total": 5,
        "total_pages": 3,
        "first_page": 1,
        "last_page": 3,
        "page": 2,
        "previous_page": 1,
        "next_page": 3,
    }
    assert len(response.get_json()) == 2


def test_a_page_past_the_end_is_empty_with_the_totals(api):
    api.create()
    response = api.get(f"/notifications?page={MAX_PAGE}&page_size=100")
    assert response.get_json() == []
    assert json.loads(response.headers["X-Pagination"])["total"] == 1


def _paginated_routes(app) -> list[str]:
    """Every GET route of the url_map whose documentation has a `page` parameter,
    with its ids filled in."""
    spec = app.test_client().get("/openapi.json").get_json()
    found = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        operation = spec["paths"].get(path, {}).get("get", {})
        if any(p["name"] == "page" and p["in"] == "query" for p in operation.get("parameters", [])):
            found.append(re.sub(r"<id:\w+>", "1", rule.rule))
    return found


@pytest.mark.parametrize("page", ["1000001", "9223372036854775807", "9" * 30])
def test_a_page_past_a_million_is_422_naming_page_on_every_paginated_route(app, api, page):
    routes = _paginated_routes(app)
    assert {"/notifications", "/webhooks/1/deliveries"} <= set(routes)
    for route in routes:
        response = api.get(f"{route}?page={page}", None)
        assert response.status_code == 422, (route, response.get_json())
        body = response.get_json()
        assert body["code"] == 422
        assert list(body["errors"]["query"]) == ["page"], (route, body)
