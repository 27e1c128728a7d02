"""The console's pages through Flask's test client, on both databases.

Every page: a signed-in user sees their own data; another user's id is 404; a
POST without a CSRF token is 400 and changes nothing; the security headers are
on every answer; hostile text shows as text.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from notifier.api_keys.models import ApiKey
from notifier.console.views.notifications import PAGE_SIZE
from notifier.extensions import db
from notifier.templates.models import Template
from notifier.webhooks import outbox
from notifier.webhooks.models import Webhook
from tests.console.support import csrf_token, post_form, sign_in
from tests.factories import PASSWORD, DeliveryAttemptFactory, NotificationFactory, UserFactory

HOSTILE = '<script>alert("x")</script>'


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _webhook(user_id: int, url: str = "https://hooks.example.com/in") -> Webhook:
    hook = Webhook(user_id=user_id, url=url, secret="whsec_" + "A" * 44)
    db.session.add(hook)
    db.session.commit()
    return hook


def _template(signed_in, **fields) -> str:
    body = {"name": "Welcome", "channel": "email", "title": "Hi {{ name }}"}
    body |= {"content": "Hello {{ name }}, welcome."} | fields
    response = post_form(signed_in, "/console/templates", body)
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"]


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
    assert _count(Template) == 0
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


# --- overview and activity ----------------------------------------------------------------


def test_the_overview_counts_the_last_day_by_status_and_draws_them(signed_in, user, stranger):
    for status in ("sent", "sent", "failed"):
        NotificationFactory(user_id=user.id, status=status)
    NotificationFactory(user_id=stranger.id, status="failed")
    page = signed_in.get("/console").get_data(as_text=True)
    assert re.search(r"status=sent\">2<", page)
    assert re.search(r"status=failed\">1<", page)
    assert page.count('class="s-sent"') == 1  # one bar segment for the hour
    assert "<svg" in page
    assert "<script" not in page


def test_the_overview_shows_the_age_of_the_oldest_due_notification(signed_in, user):
    from datetime import timedelta

    from notifier.database import utcnow

    NotificationFactory(user_id=user.id, next_attempt_at=utcnow() - timedelta(seconds=90))
    page = signed_in.get("/console").get_data(as_text=True)
    assert re.search(r"<strong>(9\d|1\d\d) s</strong>", page)


def test_the_activity_list_is_newest_first_and_only_mine(signed_in, user, stranger):
    older = NotificationFactory(user_id=user.id, title="Older one")
    newer = NotificationFactory(user_id=user.id, title="Newer one")
    NotificationFactory(user_id=stranger.id, title="Not mine")
    page = signed_in.get("/console/notifications").get_data(as_text=True)
    assert page.index(f"#{newer.id}<") < page.index(f"#{older.id}<")
    assert "Not mine" not in page


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("status=failed", "Failed one", "Sent one"),
        ("channel=sms", "Sent one", "Failed one"),
        ("reference=order-7", "Failed one", "Sent one"),
    ],
)
def test_the_activity_list_takes_the_api_filters(signed_in, user, query, shown, hidden):
    NotificationFactory(user_id=user.id, title="Failed one", status="failed", reference="order-7")
    NotificationFactory(
        user_id=user.id, title="Sent one", status="sent", channel="sms", target="+14155552671"
    )
    page = signed_in.get(f"/console/notifications?{query}").get_data(as_text=True)
    assert shown in page
    assert hidden not in page


def test_an_unknown_filter_value_shows_the_api_message_by_its_field(signed_in):
    response = signed_in.get("/console/notifications?status=lost")
    assert response.status_code == 422
    assert re.search(r'id="status-error">Must be one of', response.get_data(as_text=True))


def test_the_activity_list_is_paged(signed_in, user):
    for _ in range(PAGE_SIZE + 1):
        NotificationFactory(user_id=user.id)
    first = signed_in.get("/console/notifications").get_data(as_text=True)
    assert "Page 1 of 2" in first
    second = signed_in.get("/console/notifications?page=2").get_data(as_text=True)
    assert second.count('href="/console/notifications/') == 1


def test_a_hostile_title_shows_as_text(signed_in, user):
    note = NotificationFactory(user_id=user.id, title=HOSTILE, content=HOSTILE)
    for path in ("/console/notifications", f"/console/notifications/{note.id}"):
        page = signed_in.get(path).get_data(as_text=True)
        assert HOSTILE not in page
        assert "&lt;script&gt;" in page


def test_a_failed_notification_says_why_in_its_timeline(signed_in, user):
    note = NotificationFactory(
        user_id=user.id, status="failed", attempts=2, error_message="Mailbox does not exist"
    )
    DeliveryAttemptFactory(
        notification_id=note.id,
        number=1,
        outcome="unavailable",
        http_status=503,
        error="Provider unavailable",
        duration_ms=31,
    )
    DeliveryAttemptFactory(
        notification_id=note.id,
        number=2,
        outcome="rejected",
        http_status=422,
        error="Mailbox does not exist",
        duration_ms=12,
    )
    hook = _webhook(user.id)
    with db.engine.begin() as connection:
        body = {"id": note.id, "user_id": user.id, "updated_at": "2026-01-01T00:00:00+00:00"}
        outbox.enqueue_events(connection, [("notification.failed", body)])
    page = signed_in.get(f"/console/notifications/{note.id}").get_data(as_text=True)
    assert "Why it failed" in page
    timeline = page[page.index('class="timeline"') :]
    assert timeline.index("Created") < timeline.index("Attempt 1") < timeline.index("Attempt 2")
    assert "HTTP 503" in timeline and "31 ms" in timeline and "Provider unavailable" in timeline
    assert "HTTP 422" in timeline and "Mailbox does not exist" in timeline
    assert f"Webhook notification.failed</strong> to {hook.url}" in timeline


def test_another_users_notification_is_404(signed_in, stranger):
    note = NotificationFactory(user_id=stranger.id)
    assert signed_in.get(f"/console/notifications/{note.id}").status_code == 404
    assert signed_in.get("/console/notifications/999999").status_code == 404


# --- templates ----------------------------------------------------------------------------


def test_creating_a_template_opens_it_with_its_first_version(signed_in):
    location = _template(signed_in)
    page = signed_in.get(location).get_data(as_text=True)
    assert "version <strong>1</strong>" in page
    assert "placeholders: name" in page


def test_a_template_is_checked_by_the_api_rules_field_by_field(signed_in):
    response = post_form(
        signed_in,
        "/console/templates",
        {"name": "Bad", "channel": "email", "title": "Hi {% if %}", "content": ""},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(r'id="title-error">[^<]+', page)
    assert re.search(r'id="content-error">Missing data', page)
    assert _count(Template) == 0


def test_editing_the_text_makes_a_new_version_and_lists_both(signed_in):
    location = _template(signed_in)
    response = post_form(
        signed_in, location, {"name": "Welcome", "title": "Hello {{ name }}", "content": "New"}
    )
    assert response.status_code == 303
    page = signed_in.get(location).get_data(as_text=True)
    assert "version <strong>2</strong>" in page
    assert "<td>Hi {{ name }}</td>" in page and "<td>Hello {{ name }}</td>" in page


def test_the_preview_renders_through_the_preview_service(signed_in):
    location = _template(signed_in, content="Hello {{ name }}, you have {{ count }} messages.")
    answer = post_form(
        signed_in,
        f"{location}/preview",
        {"personalisation": '{"name": "Ann", "count": 3}'},
        page=location,
    )
    assert answer.status_code == 200
    assert answer.get_json()["content"] == "Hello Ann, you have 3 messages."
    missing = post_form(signed_in, f"{location}/preview", {"personalisation": "{}"}, page=location)
    assert missing.status_code == 422
    assert "count" in missing.get_json()["message"] and "name" in missing.get_json()["message"]


def test_a_hostile_template_shows_as_text(signed_in):
    location = _template(signed_in, name=HOSTILE, content=HOSTILE)
    for path in (location, "/console/templates"):
        page = signed_in.get(path).get_data(as_text=True)
        assert HOSTILE not in page


def test_another_users_template_is_404_to_read_edit_preview_and_delete(signed_in, browser):
    location = _template(signed_in)
    post_form(signed_in, "/console/logout", page="/console")
    sign_in(browser, UserFactory().email)
    assert browser.get(location).status_code == 404
    for path in (location, f"{location}/preview", f"{location}/delete"):
        assert post_form(browser, path, {"name": "x"}, page="/console").status_code == 404
    assert _count(Template) == 1


# --- API keys and webhooks ----------------------------------------------------------------


def test_a_new_api_key_is_shown_once(signed_in):
    created = post_form(
        signed_in,
        "/console/api-keys",
        {"name": "billing", "scopes": "notifications:send", "mode": "test"},
    )
    assert created.status_code == 201
    key = re.search(r"ntf_test_[A-Za-z0-9]{40,}", created.get_data(as_text=True)).group(0)
    listed = signed_in.get("/console/api-keys").get_data(as_text=True)
    assert key not in listed
    assert key[:16] in listed


def test_an_api_key_without_scopes_gets_the_api_message(signed_in):
    response = post_form(signed_in, "/console/api-keys", {"name": "none"})
    assert response.status_code == 422
    assert 'id="scopes-error">Choose at least one scope.' in response.get_data(as_text=True)
    assert _count(ApiKey) == 0


def test_revoking_a_key_refuses_it_at_once(signed_in, app):
    created = post_form(
        signed_in, "/console/api-keys", {"name": "k", "scopes": "notifications:read"}
    )
    key = re.search(r"ntf_live_[A-Za-z0-9]+", created.get_data(as_text=True)).group(0)
    headers = {"Authorization": f"Bearer {key}"}
    assert app.test_client().get("/notifications", headers=headers).status_code == 200
    key_id = db.session.scalar(select(ApiKey.id))
    response = post_form(signed_in, f"/console/api-keys/{key_id}/revoke", page="/console/api-keys")
    assert response.status_code == 303
    assert app.test_client().get("/notifications", headers=headers).status_code == 401


def test_another_users_key_cannot_be_revoked(signed_in, stranger):
    from notifier.api_keys import service

    key = service.create_key(stranger.id, "theirs")
    path = f"/console/api-keys/{key['id']}/revoke"
    assert post_form(signed_in, path, page="/console/api-keys").status_code == 404
    assert _count(ApiKey) == 1


def test_a_webhook_url_is_checked_by_the_api_rules(signed_in):
    response = post_form(signed_in, "/console/webhooks", {"url": "http://example.com/in"})
    assert response.status_code == 422
    assert re.search(r'id="url-error">[^<]+', response.get_data(as_text=True))
    assert _count(Webhook) == 0


def test_a_new_webhook_shows_its_secret_once_and_its_test_reaches_the_log(app, signed_in):
    app.config["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = True
    try:
        created = post_form(signed_in, "/console/webhooks", {"url": "https://127.0.0.1/in"})
    finally:
        app.config["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = False
    assert created.status_code == 201, created.get_data(as_text=True)
    secret = re.search(r"whsec_[A-Za-z0-9+/=]+", created.get_data(as_text=True)).group(0)
    hook_id = db.session.scalar(select(Webhook.id))
    page = f"/console/webhooks/{hook_id}"
    assert secret not in signed_in.get(page).get_data(as_text=True)
    tested = post_form(signed_in, f"{page}/test", page=page)
    assert tested.status_code == 303
    log = signed_in.get(tested.headers["Location"]).get_data(as_text=True)
    assert "<td>webhook.test</td>" in log


def test_another_users_webhook_is_404(signed_in, stranger):
    hook = _webhook(stranger.id)
    assert signed_in.get(f"/console/webhooks/{hook.id}").status_code == 404
    for action in ("test", "delete"):
        path = f"/console/webhooks/{hook.id}/{action}"
        assert post_form(signed_in, path, page="/console").status_code == 404
    assert _count(Webhook) == 1


def test_the_activity_filter_offers_every_channel_and_status(signed_in):
    from notifier.channels import CHANNELS
    from notifier.notifications.lifecycle import Status

    page = signed_in.get("/console/notifications").get_data(as_text=True)
    for value in (*CHANNELS, *Status):
        assert f"<option>{value}</option>" in page
