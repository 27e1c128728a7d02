"""Our pagination shortcuts answer exactly what flask-smorest's own code does."""

import json

import pytest
from flask_smorest.pagination import PaginationMixin

from notifier.pagination import InstanceCachingParser, pagination_metadata
from notifier.web import Blueprint


@pytest.mark.parametrize("item_count", [0, 1, 19, 20, 21, 100, 100_000])
@pytest.mark.parametrize("page", [1, 2, 5, 5000])
@pytest.mark.parametrize("page_size", [1, 20, 100])
def test_metadata_is_smorests_field_for_field_and_in_order(item_count, page, page_size):
    ours = pagination_metadata(page, page_size, item_count)
    theirs = PaginationMixin._make_pagination_metadata(page, page_size, item_count)
    assert json.dumps(ours) == json.dumps(theirs)


def test_the_blueprint_uses_both_shortcuts():
    assert isinstance(Blueprint.PAGINATION_ARGUMENTS_PARSER, InstanceCachingParser)
    assert Blueprint._make_pagination_metadata(2, 20, 41) == pagination_metadata(2, 20, 41)


def test_the_parser_reuses_one_instance_per_schema_class(app):
    import marshmallow as ma

    class Params(ma.Schema):
        page = ma.fields.Integer()

    parser = InstanceCachingParser()
    with app.test_request_context("/?page=3"):
        first = parser._get_schema(Params, None)
        assert parser._get_schema(Params, None) is first
        assert parser.parse(Params, location="query") == {"page": 3}


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
    response = api.get(f"/notifications?page={10**30}")
    assert response.get_json() == []
    assert json.loads(response.headers["X-Pagination"])["total"] == 1
