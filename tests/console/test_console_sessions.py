"""The console's sign-in, session, security headers and CSRF, through Flask's test client.

A wrong password gets the API's message; the cookie is HttpOnly and SameSite=Lax; a
POST without a CSRF token is 400 and changes nothing; every answer carries the headers.
"""

from __future__ import annotations

from notifier.templates.models import Template
from tests.console.support import csrf_token, post_form, row_count, sign_in
from tests.factories import PASSWORD

# --- sign-in, session, headers ------------------------------------------------------------


def test_signing_in_with_the_api_password_opens_the_overview(browser, user):
    response = sign_in(browser, user.email.upper() + "  ")
    assert response.status_code == 302
    assert response.headers["Location"] == "/console"
    page = browser.get("/console")
    assert page.status_code == 200
    assert "Overview" in page.get_data(as_text=True)


def test_a_wrong_password_is_refused_next_to_the_form_with_the_api_message(browser, user):
    response = sign_in(browser, user.email, "not-the-password")
    assert response.status_code == 401
    assert "The email or password is incorrect." in response.get_data(as_text=True)
    assert browser.get("/console").status_code == 302


def test_a_missing_email_gets_the_api_message_next_to_its_field(browser):
    response = sign_in(browser, "")
    assert response.status_code == 422
    assert 'id="email-error">Missing data for required field.<' in response.get_data(as_text=True)


def test_sign_in_shares_the_api_login_limit(app, browser, user):
    limit = int(app.config["RATELIMIT_LOGIN"].split()[0])
    for _ in range(limit):
        assert sign_in(browser, user.email, "wrong-password").status_code == 401
    refused = sign_in(browser, user.email)  # even the right password, until the window passes
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    api = app.test_client().post("/auth/login", json={"email": user.email, "password": PASSWORD})
    assert api.status_code == 429


def test_the_session_cookie_is_http_only_and_same_site_lax(browser, user):
    cookie = sign_in(browser, user.email).headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_the_cookie_is_secure_when_the_public_address_is_https(app):
    from config import TestConfig
    from notifier import create_app

    class HttpsConfig(TestConfig):
        PUBLIC_BASE_URL = "https://notifier.example.com"
        SECRET_KEY = "a-console-secret-of-its-own-0123456789"

    other = create_app(HttpsConfig)
    assert other.config["SESSION_COOKIE_SECURE"] is True
    assert other.config["SECRET_KEY"] == HttpsConfig.SECRET_KEY


def test_without_a_secret_key_the_cookie_key_is_derived_not_the_jwt_key(app):
    assert app.config["SECRET_KEY"]
    assert app.config["SECRET_KEY"] != app.config["JWT_SECRET_KEY"]


def test_pages_send_a_script_policy_without_inline_and_deny_framing(signed_in):
    for path in ("/console", "/console/login", "/console/notifications"):
        response = signed_in.get(path, follow_redirects=False)
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert response.headers["X-Frame-Options"] == "DENY"


def test_signing_out_revokes_the_session_everywhere(signed_in):
    cookie = signed_in.get_cookie("session").value
    response = post_form(signed_in, "/console/logout", page="/console")
    assert response.status_code == 302
    assert signed_in.get("/console").status_code == 302
    signed_in.set_cookie("session", cookie)  # the old cookie, replayed
    assert signed_in.get("/console").status_code == 302


def test_a_session_ends_with_the_login_sessions_lifetime(app, signed_in):
    lifetime = app.config["JWT_REFRESH_TOKEN_EXPIRES"]
    app.config["JWT_REFRESH_TOKEN_EXPIRES"] = 0
    try:
        assert signed_in.get("/console").status_code == 302
    finally:
        app.config["JWT_REFRESH_TOKEN_EXPIRES"] = lifetime
    assert signed_in.get("/console").status_code == 302  # the cookie was dropped


def test_a_post_without_a_csrf_token_is_400_and_changes_nothing(signed_in, user):
    response = signed_in.post(
        "/console/templates",
        data={"name": "x", "channel": "email", "title": "t", "content": "c"},
    )
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert row_count(Template) == 0
    assert signed_in.post("/console/logout").status_code == 400
    assert signed_in.get("/console").status_code == 200  # still signed in


def test_the_json_api_needs_no_csrf_token(api):
    api.create(title="From the API", content="Hello", channel="email", target="a@example.com")


def test_the_openapi_document_lists_no_console_route(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    assert not [path for path in paths if path.startswith("/console")]


def test_static_files_are_served_by_the_app_without_a_session(browser):
    assert browser.get("/console/static/console.css").status_code == 200
    assert browser.get("/console/static/preview.js").status_code == 200


def test_sign_in_never_sends_the_browser_to_another_site(browser, user):
    token = csrf_token(browser)
    response = browser.post(
        "/console/login?next=//evil.example.com/",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/console"
