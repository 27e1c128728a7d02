"""Suppressions: the list (newest first, paged), add a target by hand, lift one."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from notifier import channels, pagination
from notifier.console import forms, session
from notifier.console.blueprint import bp, page
from notifier.suppressions import service
from notifier.suppressions.models import Reason
from notifier.suppressions.schemas import SuppressionCreateSchema

PAGE_SIZE = 50
_PAGES = pagination.parameters_schema(1, PAGE_SIZE, 100)

page("Suppressions", "suppressions")


def _page(form, errors: forms.Errors, status: int = 200):
    paging, page_errors = forms.load(_PAGES, forms.form_values(request.args, ("page",)))
    number = paging.page if paging else 1
    items, total = service.list_page(session.user_id(), {}, number, PAGE_SIZE)
    return render_template(
        "console/suppressions.html",
        items=items,
        total=total,
        page=number,
        pages=max(1, -(-total // PAGE_SIZE)),
        form=form,
        errors=errors | page_errors,
        channels=channels.CHANNELS,
    ), status


@bp.route("/suppressions", methods=["GET", "POST"])
def suppressions():
    """Your suppressed targets, newest first, and the form that adds one by hand."""
    if request.method == "GET":
        return _page({}, {})
    given = forms.form_values(request.form, ("channel", "target"))
    data, errors = forms.load(SuppressionCreateSchema(), {**given, "reason": Reason.MANUAL.value})
    if data is not None:
        try:
            service.create(session.user_id(), data)
        except HTTPException as error:
            if error.code != 422:
                raise
            errors = forms.service_errors(error)
        else:
            return redirect(url_for("console.suppressions"), 303)
    return _page(request.form, errors, 422)


@bp.route("/suppressions/<id:suppression_id>/delete", methods=["POST"])
def delete_suppression(suppression_id: int):
    """Lift a suppression: the target may be sent to again."""
    service.remove(session.user_id(), suppression_id)
    return redirect(url_for("console.suppressions"), 303)
