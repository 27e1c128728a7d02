"""Templates: the list, create, edit with a live preview, versions (templates service)."""

from __future__ import annotations

import json

from flask import jsonify, redirect, render_template, request, url_for

from notifier import channels
from notifier.console import forms, listing, session
from notifier.console.blueprint import bp, page
from notifier.templates import messages, service
from notifier.templates.schemas import PreviewSchema, TemplateCreateSchema, TemplatePutSchema

PAGE_SIZE = 50
FIELDS = ("name", "channel", "title", "content")

page("Templates", "templates")


def _list_page(form: dict, errors: forms.Errors, status: int = 200):
    rows, page_errors = listing.paged(
        lambda number, size: service.list_templates(session.user_id(), {}, number, size),
        PAGE_SIZE,
    )
    return render_template(
        "console/templates.html",
        **rows,
        form=form,
        errors=errors | page_errors,
        channels=channels.CHANNELS,
    ), status


@bp.route("/templates", methods=["GET", "POST"])
def templates():
    """Your templates, newest first, and the form that creates one."""
    if request.method == "GET":
        return _list_page({}, {})
    given = forms.form_values(request.form, FIELDS)
    body, errors = forms.submit(
        TemplateCreateSchema(), given, lambda data: service.create_template(session.user_id(), data)
    )
    if not errors:
        return redirect(url_for("console.template", template_id=body["id"]), 303)
    return _list_page(request.form, errors, 422)


def _edit_page(template: dict, form: dict, errors: forms.Errors, status: int = 200):
    return render_template(
        "console/template.html",
        t=template,
        form=form or template,
        errors=errors,
        versions=service.list_versions(session.user_id(), template["id"]),
        sample=json.dumps({name: "" for name in template["placeholders"]}, indent=1),
    ), status


@bp.route("/templates/<id:template_id>", methods=["GET", "POST"])
def template(template_id: int):
    """One template: edit it (a change of title or content is a new version), preview it."""
    current = service.get_template(session.user_id(), template_id)
    if request.method == "GET":
        return _edit_page(current, {}, {})
    given = forms.form_values(request.form, ("name", "title", "content"))
    _, errors = forms.submit(
        TemplatePutSchema(),
        given,
        lambda data: service.update_template(session.user_id(), template_id, data),
    )
    if not errors:
        return redirect(url_for("console.template", template_id=template_id), 303)
    return _edit_page(current, request.form, errors, 422)


@bp.route("/templates/<id:template_id>/delete", methods=["POST"])
def delete_template(template_id: int):
    """Delete a template: it can no longer be sent or read."""
    service.delete_template(session.user_id(), template_id)
    return redirect(url_for("console.templates"), 303)


@bp.route("/templates/<id:template_id>/preview", methods=["POST"])
def preview(template_id: int):
    """The preview route's answer as JSON, for the edit page's live preview.

    Form fields `personalisation` (a JSON object) and `version`; the page posts
    them with its CSRF token. 422 with the one error shape, like the API.
    """
    errors: forms.Errors = {}
    try:
        values = json.loads(request.form.get("personalisation") or "{}")
    except ValueError:
        values, errors = None, {"personalisation": ["Not valid JSON."]}
    body = {"personalisation": values}
    if request.form.get("version", "").isdigit():
        body["version"] = int(request.form["version"])
    if not errors:
        answer, errors = forms.submit(
            PreviewSchema(), body, lambda data: messages.preview(template_id, data)
        )
        if not errors:
            return jsonify(answer)
    message = "; ".join(text for texts in errors.values() for text in texts)
    return jsonify(
        {"code": 422, "status": "Unprocessable Entity", "message": message, "errors": errors}
    ), 422
