"""Pagination of list routes (`@blp.paginate()`) on public APIs only.

flask-smorest's `Blueprint.paginate` instantiates two marshmallow schemas per
list request: webargs builds the page parameters schema from the class smorest
gives it, and smorest dumps `X-Pagination` through a new metadata schema.
Instantiating a schema deep-copies its fields; together that was a sixth of a
list request's CPU in the profile. Avoiding it by overriding private hooks of
webargs and smorest would break silently the day either changes, so this
module replaces the decorator instead, with each library's public API:

- the page parameters are one schema instance per route (`page` at most
  `MAX_PAGE`, on every paginated route), parsed and documented
  by smorest's `Blueprint.arguments` (an instance is used as it is, never
  rebuilt), and load into smorest's documented `PaginationParameters`;
- the view sets `item_count`, as with smorest; the `X-Pagination` header is
  built here, field for field and byte for byte what smorest sends;
- the header is documented with `Blueprint.doc`, by reference to the header
  component that smorest's `Api` registers for its own pagination.

tests/test_pagination.py compares answers, header and documentation with
smorest's own `paginate` on the same routes. Two differences are visible: a
`page` above `MAX_PAGE` is a 422 here (smorest has no bound: an offset past a
64-bit integer became a 500 in the database), documented as the parameter's
`maximum`; and the spec lists `page` and `page_size` before the route's
filters (smorest appends them after), since `Blueprint.arguments` documents
parameters in the order its decorators are applied and `@blp.paginate()` is
the innermost.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationParameters
from werkzeug.datastructures import Headers

HEADER = "X-Pagination"
# The highest page a list accepts: past it, `page` is a 422. A million pages of the
# smallest size is more rows than any list here holds, and the bound keeps every
# offset computed from it far inside a 64-bit integer, whatever the database.
MAX_PAGE = 1_000_000
# The OpenAPI header component flask-smorest's Api registers for X-Pagination.
HEADER_COMPONENT = "PAGINATION"


def parameters_schema(default_page: int, default_size: int, max_size: int) -> ma.Schema:
    """A schema instance loading `page` and `page_size` into PaginationParameters."""

    class PaginationParametersSchema(ma.Schema):
        class Meta:
            # The query string also carries the route's filters.
            unknown = ma.EXCLUDE

        # Two validators: below 1, the message is smorest's own, word for word.
        page = ma.fields.Integer(
            load_default=default_page,
            validate=[ma.validate.Range(min=1), ma.validate.Range(max=MAX_PAGE)],
        )
        page_size = ma.fields.Integer(
            load_default=default_size, validate=ma.validate.Range(min=1, max=max_size)
        )

        @ma.post_load
        def make_parameters(self, data: dict, **kwargs) -> PaginationParameters:
            return PaginationParameters(**data)

    return PaginationParametersSchema()


def paginate(
    blp: Blueprint, *, page: int, page_size: int, max_page_size: int, status_code: int = 200
) -> Callable:
    """Decorate a view that pages its list itself: it receives `pagination_parameters`
    (`page`, `page_size`) and sets their `item_count` to the total; the answer gets
    `X-Pagination`. `status_code` is the view's success status, where the header is
    documented."""
    schema = parameters_schema(page, page_size, max_page_size)
    header_doc = {"responses": {status_code: {"headers": {HEADER: HEADER_COMPONENT}}}}

    def decorator(func: Callable) -> Callable:
        @wraps(func)
        def wrapper(*args, pagination_parameters: PaginationParameters, **kwargs):
            result = func(*args, pagination_parameters=pagination_parameters, **kwargs)
            if pagination_parameters.item_count is None:
                raise RuntimeError(f"{func.__qualname__} must set pagination_parameters.item_count")
            metadata = pagination_metadata(
                pagination_parameters.page,
                pagination_parameters.page_size,
                pagination_parameters.item_count,
            )
            return _with_header(result, HEADER, json.dumps(metadata))

        documented = blp.doc(**header_doc)(wrapper)
        return blp.arguments(schema, location="query", arg_name="pagination_parameters")(documented)

    return decorator


def pagination_metadata(page: int, page_size: int, item_count: int) -> dict:
    """The `X-Pagination` object smorest sends, field for field and in its order."""
    metadata = {"total": item_count}
    if item_count == 0:
        metadata["total_pages"] = 0
        return metadata
    last_page = (item_count - 1) // page_size + 1
    metadata |= {"total_pages": last_page, "first_page": 1, "last_page": last_page}
    if page <= last_page:
        metadata["page"] = page
        if page > 1:
            metadata["previous_page"] = page - 1
        if page < last_page:
            metadata["next_page"] = page + 1
    return metadata


def _with_header(result: Any, name: str, value: str) -> tuple:
    """The view's answer, as Flask reads a view's tuple, with one more header."""
    status = headers = None
    if type(result) is tuple:
        if len(result) == 3:
            result, status, headers = result
        elif isinstance(result[1], Headers | dict | tuple | list):
            result, headers = result
        else:
            result, status = result
    if headers is None:
        headers = {name: value}
    elif isinstance(headers, dict):
        headers = {**headers, name: value}
    else:
        headers = Headers(headers)
        headers[name] = value
    return result, status, headers
