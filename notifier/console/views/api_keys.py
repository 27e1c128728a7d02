"""API keys: the list, create (the key is shown once), revoke (api_keys service)."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from notifier.api_keys import service
from notifier.api_keys.models import DEFAULT_SCOPES, MODES, SCOPES
from notifier.api_keys.schemas import ApiKeyCreateSchema
from notifier.console import forms, session
from notifier.console.blueprint import bp, page

page("API keys", "api_keys")


def _page(form, errors: forms.Errors, created: dict | None = None, status: int = 200):
    return render_template(
        "console/api_keys.html",
        keys=service.list_keys(session.user_id()),
        form=form,
        errors=errors,
        created=created,
        scopes=SCOPES,
        default_scopes=DEFAULT_SCOPES,
        modes=MODES,
    ), status


@bp.route("/api-keys", methods=["GET", "POST"])
def api_keys():
    """Your keys (no secrets), and the form that makes one: its key is shown this once."""
    if request.method == "GET":
        return _page({}, {})
    given = forms.form_values(request.form, ("name", "mode", "expires_at"))
    given["scopes"] = request.form.getlist("scopes")
    created, errors = forms.submit(
        ApiKeyCreateSchema(), given, lambda data: service.create_key(session.user_id(), **data)
    )
    if not errors:
        return _page({}, {}, created, 201)
    return _page(request.form, errors, None, 422)


@bp.route("/api-keys/<id:key_id>/revoke", methods=["POST"])
def revoke_api_key(key_id: int):
    """Revoke a key: every process refuses it from its next request on."""
    service.delete_key(session.user_id(), key_id)
    return redirect(url_for("console.api_keys"), 303)
