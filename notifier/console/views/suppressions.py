"""Suppressions: the list (newest first, paged), add a target by hand, lift one."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from notifier import channels
from notifier.console import forms, listing, session
from notifier.console.blueprint import bp, page
from notifier.suppressions import service
from notifier.suppressions.models import Reason
from notifier.suppressions.schemas import SuppressionCreateSchema

PAGE_SIZE = 50

page("Suppressions", "suppressions")


def _page(form, errors: forms.Errors, status: int = 200):
    rows, page_errors = listing.paged(
        lambda number, size: service.list_page(session.user_id(), {}, number, size), PAGE_SIZE
    )
    return render_template(
        "console/suppressions.html",
        **rows,
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
    _, errors = forms.submit(
        SuppressionCreateSchema(),
        {**given, "reason": Reason.MANUAL.value},
        lambda data: service.create(session.user_id(), data),
    )
    if not errors:
        return redirect(url_for("console.suppressions"), 303)
    return _page(request.form, errors, 422)


@bp.route("/suppressions/<id:suppression_id>/delete", methods=["POST"])
def delete_suppression(suppression_id: int):
    """Lift a suppression: the target may be sent to again."""
    service.remove(session.user_id(), suppression_id)
    return redirect(url_for("console.suppressions"), 303)
