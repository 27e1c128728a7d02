"""The console's blueprint, its navigation, its security headers and its error pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from werkzeug.exceptions import HTTPException

from notifier.console import session

# Checked by `_gate` on the console's requests only (the app turns the default check off).
csrf = CSRFProtect()

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

# Scripts and styles from the app only; no inline script, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)


@dataclass(frozen=True)
class Page:
    """One entry of the navigation: its label and its endpoint."""

    label: str
    endpoint: str


NAV: list[Page] = []


def page(label: str, endpoint: str) -> None:
    """Add a room to the navigation (in the order the view modules are imported)."""
    NAV.append(Page(label, f"console.{endpoint}"))


# The only console endpoints a visitor without a session may reach.
PUBLIC_ENDPOINTS = frozenset({"console.login", "console.static"})


@bp.before_request
def _gate():
    """Every console URL needs a session (302 to sign-in without one), then every
    unsafe request a valid CSRF token (400 otherwise, before the view changes anything).

    A gate on the blueprint rather than a decorator per view: a page added later
    is behind it without having to remember it.
    """
    if request.endpoint not in PUBLIC_ENDPOINTS and not session.start():
        return redirect(url_for("console.login", next=request.path))
    csrf.protect()
    return None


@bp.after_request
def _headers(response):
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def as_time(value: datetime | str | None) -> datetime | None:
    """A service's time (a datetime, or ISO 8601 text in a notification body) as a datetime."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


@bp.app_template_filter("console_time")
def _console_time(value) -> str:
    """`YYYY-MM-DD HH:MM:SS` (UTC): a body's ISO text is cut, a datetime formatted."""
    if isinstance(value, str):
        return value[:19].replace("T", " ")
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "—"


@bp.app_context_processor
def _globals() -> dict:
    return {"console_nav": NAV, "csrf_token": generate_csrf}


@bp.errorhandler(CSRFError)
def _csrf_error(error: CSRFError):
    return render_template("console/error.html", error=error, message=error.description), 400


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    """An error page in the console's layout; a refused session goes back to sign-in."""
    if error.code == 401:
        session.forget()
        return redirect(url_for("console.login", next=request.path))
    data = getattr(error, "data", None) or {}
    message = data.get("message") or error.description
    return render_template("console/error.html", error=error, message=message), error.code
