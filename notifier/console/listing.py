"""A room's list, a page at a time: the page the query string asks for, and the pager's figures."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import marshmallow as ma
from flask import request

from notifier import pagination
from notifier.console import forms

MAX_PAGE_SIZE = 100


@cache
def _pages(size: int) -> ma.Schema:
    """The API's pagination schema, `size` rows a page (one instance per size)."""
    return pagination.parameters_schema(1, size, MAX_PAGE_SIZE)


def paged(fetch: Callable[[int, int], tuple[list, int]], size: int) -> tuple[dict, forms.Errors]:
    """The page that `?page=` asks for (the first when it names none, or not one).

    `fetch(page, size)` is the service's list call: `(rows, total)`. The answer is
    the template's `items`, `total`, `page` and `pages`, and the messages on `page`.
    """
    paging, errors = forms.load(_pages(size), forms.form_values(request.args, ("page",)))
    number = paging.page if paging else 1
    items, total = fetch(number, size)
    return {
        "items": items,
        "total": total,
        "page": number,
        "pages": max(1, -(-total // size)),
    }, errors
