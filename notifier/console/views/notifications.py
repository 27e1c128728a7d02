"""The activity list and one notification's timeline, from the notifications service."""

from __future__ import annotations

from flask import render_template, request

from notifier import pagination
from notifier.channels import CHANNELS
from notifier.console import forms, session
from notifier.console.blueprint import as_time, bp, page
from notifier.notifications import service
from notifier.notifications.lifecycle import Status
from notifier.notifications.queries import FILTERS
from notifier.notifications.schemas import NotificationQuerySchema
from notifier.webhooks import service as webhooks

# The API's default page size: the page costs what the API's first page costs.
PAGE_SIZE = 20
_PAGES = pagination.parameters_schema(1, PAGE_SIZE, 100)
_FILTERS = NotificationQuerySchema()

page("Activity", "notifications")


@bp.route("/notifications")
def notifications():
    """The activity list: the API's filters, newest first, paged."""
    given = forms.form_values(request.args, FILTERS)
    filters, errors = forms.load(_FILTERS, given)
    paging, page_errors = forms.load(_PAGES, forms.form_values(request.args, ("page",)))
    errors |= page_errors
    items, total, number = [], 0, 1
    if not errors:
        number = paging.page
        items, total = service.list_notifications(filters, number, PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    return render_template(
        "console/notifications.html",
        items=items,
        total=total,
        page=number,
        pages=pages,
        given=given,
        errors=errors,
        statuses=[status.value for status in Status],
        channels=CHANNELS,
    ), (422 if errors else 200)


@bp.route("/notifications/<id:notification_id>")
def notification(notification_id: int):
    """One notification: its text, and one timeline of its attempts and webhook deliveries."""
    body = service.get_notification(notification_id)
    attempts = service.list_attempts(notification_id)
    deliveries = webhooks.deliveries_for_notification(session.user_id(), notification_id)
    timeline = [{"at": body["created_at"], "kind": "created", "item": body}]
    timeline += [{"at": a["started_at"], "kind": "attempt", "item": a} for a in attempts]
    timeline += [{"at": d["created_at"], "kind": "webhook", "item": d} for d in deliveries]
    for entry in timeline:
        entry["at"] = as_time(entry["at"])
    timeline.sort(key=lambda entry: entry["at"])
    return render_template("console/notification.html", n=body, timeline=timeline)
