"""Webhooks: the list, create (the secret is shown once), test, the deliveries log."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from notifier.console import forms, listing, session
from notifier.console.blueprint import bp, page
from notifier.webhooks import service
from notifier.webhooks.models import EVENT_TYPES
from notifier.webhooks.schemas import WebhookCreateSchema

PAGE_SIZE = 50

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
    created, errors = forms.submit(
        WebhookCreateSchema(), given, lambda data: service.create_webhook(session.user_id(), data)
    )
    if not errors:
        return _page({}, {}, created, 201)
    return _page(request.form, errors, None, 422)


@bp.route("/webhooks/<id:webhook_id>")
def webhook(webhook_id: int):
    """One webhook and its deliveries log, newest first."""
    hook = service.get_webhook(session.user_id(), webhook_id)
    # A page that is not one shows the first, without a message: the page has no form.
    deliveries, _ = listing.paged(
        lambda number, size: service.list_deliveries(
            session.user_id(), webhook_id, {}, number, size
        ),
        PAGE_SIZE,
    )
    return render_template(
        "console/webhook.html",
        hook=hook,
        **deliveries,
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
