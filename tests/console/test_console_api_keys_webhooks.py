"""The console's API-key and webhook pages: secrets shown once, the API's rules and
messages, revocation at once; another user's key or webhook is 404.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from notifier.api_keys.models import ApiKey
from notifier.extensions import db
from notifier.webhooks.models import Webhook
from tests.console.support import add_webhook, post_form, row_count

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
    assert row_count(ApiKey) == 0


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
    assert row_count(ApiKey) == 1


def test_a_webhook_url_is_checked_by_the_api_rules(signed_in):
    response = post_form(signed_in, "/console/webhooks", {"url": "http://example.com/in"})
    assert response.status_code == 422
    assert re.search(r'id="url-error">[^<]+', response.get_data(as_text=True))
    assert row_count(Webhook) == 0


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
    hook = add_webhook(stranger.id)
    assert signed_in.get(f"/console/webhooks/{hook.id}").status_code == 404
    for action in ("test", "delete"):
        path = f"/console/webhooks/{hook.id}/{action}"
        assert post_form(signed_in, path, page="/console").status_code == 404
    assert row_count(Webhook) == 1
