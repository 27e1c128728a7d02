"""Batches: the list, send a template to an uploaded CSV file, one batch's live progress.

The upload form carries a one-time key (a hidden field, new each time the form is
shown), passed to the batches service as the API's `Idempotency-Key`: a form sent
twice (a double click, a resubmit after a lost answer) creates one batch, and the
second answer is the first batch.
"""

from __future__ import annotations

import secrets

from flask import jsonify, redirect, render_template, request, url_for
from flask.views import MethodView
from werkzeug.exceptions import HTTPException

from notifier import pagination
from notifier.batches import service
from notifier.batches.schemas import BatchCreateSchema
from notifier.console import forms
from notifier.console import session as console_session
from notifier.console.blueprint import bp, page
from notifier.notifications.lifecycle import UNFINISHED_STATUSES
from notifier.notifications.schemas import IdempotencyHeaderSchema
from notifier.templates import service as templates

PAGE_SIZE = 50
_PAGES = pagination.parameters_schema(1, PAGE_SIZE, 100)
# The largest CSV file read: the API's batch body limit (16 MiB).
MAX_FILE_BYTES = 16 * 1024 * 1024
TOO_LARGE = "The file is larger than 16 MiB."
NOT_UTF8 = "The file is not UTF-8 text: save it as CSV UTF-8 and upload it again."
NO_FILE = "Choose a CSV file."
FORM_KEY = "idempotency_key"
KEY_HEADER = "Idempotency-Key"
# The key came back with another file or template (the form was sent, then reused).
FORM_USED = (
    "This form already sent a batch. It has been renewed: choose the file again and send it "
    "to create another batch."
)
FORM_BROKEN = "This form's key is not valid: reload the page and send the file again."

page("Batches", "batches")


def line_errors(errors: forms.Errors | dict) -> list[str]:
    """A service's per-line CSV errors (`{"csv": {"3": {"target": [...]}}}`) as sentences."""
    found = (errors.get("json") or errors).get("csv")
    if not isinstance(found, dict):
        return []
    lines = []
    for line, messages in found.items():
        if isinstance(messages, dict):
            for name, texts in messages.items():
                lines += [f"Line {line}, {name}: {text}" for text in texts]
        else:
            lines += [f"Line {line}: {text}" for text in messages]
    return lines


def _list_page(errors: forms.Errors, lines: list[str], chosen: str = "", status: int = 200):
    paging, page_errors = forms.load(_PAGES, forms.form_values(request.args, ("page",)))
    number = paging.page if paging else 1
    items, total = service.list_batches(number, PAGE_SIZE)
    choices, _ = templates.list_templates(console_session.user_id(), {}, 1, 100)
    return render_template(
        "console/batches.html",
        items=items,
        page=number,
        pages=max(1, -(-total // PAGE_SIZE)),
        templates=choices,
        chosen=chosen,
        errors=errors | page_errors,
        lines=lines,
        form_key=secrets.token_urlsafe(24),
    ), status


def _form_key() -> tuple[str | None, forms.Errors]:
    """The form's one-time key, checked as the API checks an Idempotency-Key header."""
    key = request.form.get(FORM_KEY) or None
    if key is None:  # a page rendered before the form had a key: no protection, as before
        return None, {}
    data, errors = forms.load(IdempotencyHeaderSchema(), {KEY_HEADER: key})
    if errors:
        return None, {"_schema": [FORM_BROKEN]}
    return data["idempotency_key"], {}


def _read_file() -> tuple[str | None, forms.Errors]:
    """The uploaded file as text, or a message on `file`."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return None, {"file": [NO_FILE]}
    raw = upload.stream.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        return None, {"file": [TOO_LARGE]}
    try:
        return raw.decode("utf-8-sig"), {}
    except UnicodeDecodeError:
        return None, {"file": [NOT_UTF8]}


class Batches(MethodView):
    # The upload may be as large as the API's batch bodies (notifier.web's body limit).
    BODY_LIMIT_SETTING = "BATCH_MAX_CONTENT_LENGTH"

    def get(self):
        """Your batches, newest first, and the form that sends a template to a CSV file."""
        return _list_page({}, [])

    def post(self):
        """Send a template to every row of an uploaded CSV file (all or nothing)."""
        chosen = request.form.get("template_id", "")
        text, errors = _read_file()
        given: dict = {"template_id": int(chosen) if chosen.isdigit() else chosen}
        if text is not None:
            given["csv"] = text
        data, schema_errors = forms.load(BatchCreateSchema(), given)
        key, key_errors = _form_key()
        errors = schema_errors | errors | key_errors
        if text is None:
            errors.pop("csv", None)
        lines: list[str] = []
        if data is not None and not errors:
            try:
                # A replay (this form was sent before) answers the first batch.
                body, _ = service.create_batch(data, key)
            except HTTPException as error:
                if error.code != 422:
                    raise
                answer = getattr(error, "data", None) or {}
                lines = line_errors(answer.get("errors") or {})
                errors = forms.service_errors(error)
                if KEY_HEADER in (answer.get("errors") or {}).get("headers", {}):
                    errors = {"_schema": [FORM_USED]}
                if lines:  # listed line by line under the service's message
                    errors.pop("csv", None)
                    errors["_schema"] = [answer.get("message") or error.description]
            else:
                return redirect(url_for("console.batch", batch_id=body["id"]), 303)
        if "csv" in errors:  # the schema's word on the file's text belongs to the file input
            errors["file"] = errors.pop("csv")
        return _list_page(errors, lines, chosen, 422)


bp.add_url_rule("/batches", view_func=Batches.as_view("batches"))


@bp.route("/batches/<id:batch_id>")
def batch(batch_id: int):
    """One batch: its counts and status, updated in place while it is sent."""
    found = service.get_batch(batch_id)
    unfinished = sum(found["counts"].get(status, 0) for status in UNFINISHED_STATUSES)
    return render_template(
        "console/batch.html",
        batch=found,
        done=found["total"] - unfinished,
        unfinished=" ".join(UNFINISHED_STATUSES),
    )


@bp.route("/batches/<id:batch_id>.json")
def batch_progress(batch_id: int):
    """The batch's body, as `GET /batches/<id>` answers it (polled by batch.js)."""
    return jsonify(service.get_batch(batch_id))


@bp.route("/batches/<id:batch_id>/cancel", methods=["POST"])
def cancel_batch(batch_id: int):
    """Cancel the batch: its pending notifications are not sent."""
    service.cancel_batch(batch_id)
    return redirect(url_for("console.batch", batch_id=batch_id), 303)
