"""Webhooks: the list, create (the secret is shown once), test, the deliveries log."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from notifier import pagination
from notifier.console import forms, session
from notifier.console.blueprint import bp, page
from notifier.webhooks import service
from notifier.webhooks.models import EVENT_TYPES
from notifier.webhooks.schemas import WebhookCreateSchema

PAGE_SIZE = 50
_PAGES = pagination.parameters_schema(1, PAGE_SIZE, 100)

page("Webhooks", "webhooks")


def _page(form, errors: forms.Errors, created: dict | None = None, status: int = 200):
    return render_template(
        "console/webhooks.html",
        hooks=service.list_webhooks(session.user_id()),
        form=form,
        errors=errors,
        created=created,
        events=EVENT_TYPES,
    ), status


@bp.route("/webhooks", methods=["GET", "POST"])
def webhooks():
    """Your webhooks, and the form that registers one: its secret is shown this once."""
    if request.method == "GET":
        return _page({}, {})
    given = forms.form_values(request.form, ("url", "description"))
    if request.form.getlist("events"):
        given["events"] = request.form.getlist("events")
    data, errors = forms.load(WebhookCreateSchema(), given)
    if data is not None:
        try:
            created = service.create_webhook(session.user_id(), data)
        except HTTPException as error:
            if error.code != 422:
                raise
            errors = forms.service_errors(error)
        else:
            return _page({}, {}, created, 201)
    return _page(request.form, errors, None, 422)


@bp.route("/webhooks/<id:webhook_id>")
def webhook(webhook_id: int):
    """One webhook and its deliveries log, newest first."""
    hook = service.get_webhook(session.user_id(), webhook_id)
    paging, _ = forms.load(_PAGES, forms.form_values(request.args, ("page",)))
    number = paging.page if paging else 1  # a page that is not one: the first
    rows, total = service.list_deliveries(session.user_id(), webhook_id, {}, number, PAGE_SIZE)
    return render_template(
        "console/webhook.html",
        hook=hook,
        deliveries=rows,
        total=total,
        page=number,
        pages=max(1, -(-total // PAGE_SIZE)),
        tested=request.args.get("tested") == "1",
    )


@bp.route("/webhooks/<id:webhook_id>/test", methods=["POST"])
def test_webhook(webhook_id: int):
    """Send a `webhook.test` event to it (whatever its events)."""
    service.send_test(session.user_id(), webhook_id)
    return redirect(url_for("console.webhook", webhook_id=webhook_id, tested=1), 303)


@bp.route("/webhooks/<id:webhook_id>/delete", methods=["POST"])
def delete_webhook(webhook_id: int):
    """Delete a webhook: nothing more is sent to it."""
    service.delete_webhook(session.user_id(), webhook_id)
    return redirect(url_for("console.webhooks"), 303)
