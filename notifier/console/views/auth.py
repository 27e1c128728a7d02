"""Sign in and sign out: the auth service checks the password, `notifier.ratelimit` counts."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from notifier import ratelimit
from notifier.auth import service
from notifier.auth.schemas import LoginSchema
from notifier.console import forms, session
from notifier.console.blueprint import bp


def _next_page() -> str:
    """Where to go after signing in: a console path only (never another site)."""
    target = request.args.get("next", "")
    if target.startswith("/console") and not target.startswith("//"):
        return target
    return url_for("console.overview")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The sign-in form: the same email and password, and the same limits, as the API."""
    if request.method == "GET":
        if session.signed_in():
            return redirect(url_for("console.overview"))
        return render_template("console/login.html", errors={}, email="")
    email = request.form.get("email", "")
    data, errors = forms.load(LoginSchema(), forms.form_values(request.form, ("email", "password")))
    status = 422
    if data is not None:
        try:
            ratelimit.count_login(request.remote_addr, data["email"])
            user_id, session_id = service.open_session(data["email"], data["password"])
        except HTTPException as error:
            if error.code not in (401, 429, 503):
                raise
            status = error.code
            errors = forms.service_errors(error)
            response = render_template("console/login.html", errors=errors, email=email)
            headers = (getattr(error, "data", None) or {}).get("headers") or {}
            return response, status, headers
        session.remember(user_id, session_id)
        return redirect(_next_page())
    return render_template("console/login.html", errors=errors, email=email), status


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out: the login session is revoked, here and for every request that used it."""
    session.sign_out()
    return redirect(url_for("console.login"))
