"""Bodies generated from the OpenAPI document are accepted by the API.

hypothesis-jsonschema draws request bodies from `/openapi.json` (the document a
client or a fuzzer reads), and the app must answer each with its success status,
with an answer that matches the document. If a rule is added to a schema and not
to the document (or the reverse), this fails: the two cannot drift apart again.

Every example starts from an empty database, so a generated email is never taken.
A few rules cannot be said in OpenAPI; each is handled below, where it applies,
with the reason: a phone number must be a real one, an SMS must fit in 10
segments, a push payload in 4096 bytes, an API key's expiry must be in the
future, and a webhook's host must resolve to a public address.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import jsonschema
import phonenumbers
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from notifier import channels, emails
from notifier.auth.passwords import hash_password
from notifier.database import utcnow
from tests.conftest import delete_all_rows
from tests.factories import PASSWORD, UserFactory
from tests.helpers import ApiClient
from tests.openapi_support import branches_spelled_out, check_answer, request_schema

EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Real mobile numbers: the document says E.164 (`+` and 7 to 15 digits), but
# whether a number exists is phonenumbers' knowledge, not a pattern's.
PHONES = [
    phonenumbers.format_number(
        phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE),
        phonenumbers.PhoneNumberFormat.E164,
    )
    for region in ("US", "GB", "DE", "FR", "JP", "BR", "IN", "AU", "NG", "CH")
]
BASE_TARGETS = {
    channels.EMAIL: "alice@example.com",
    channels.SMS: PHONES[0],
    channels.PUSH: "d" * 64,
}


@pytest.fixture
def spec(client):
    return client.get("/openapi.json").get_json()


def _channel_of(body: dict) -> str:
    """The body's channel, or the one whose documented target form its target has
    (the forms are disjoint: only an address has an @, only a token neither + nor @)."""
    if "channel" in body:
        return body["channel"]
    target = body.get("target", "@")
    if "@" in target:
        return channels.EMAIL
    return channels.SMS if target.startswith("+") else channels.PUSH


def _real_phone(body: dict) -> st.SearchStrategy[dict]:
    """The body, its E.164 target (if any) replaced by a real number."""
    if "target" not in body or _channel_of(body) != channels.SMS:
        return st.just(body)
    return st.sampled_from(PHONES).map(lambda phone: {**body, "target": phone})


def _assume_channel_limits(notification: dict) -> None:
    # Counted in SMS segments and in payload bytes, which JSON Schema cannot measure.
    if notification["channel"] == channels.SMS:
        assume(channels.sms_segments(notification["content"])[1] <= channels.MAX_SMS_SEGMENTS)
    if notification["channel"] == channels.PUSH:
        size = channels.push_payload_size(notification["title"], notification["content"])
        assume(size <= channels.MAX_PUSH_PAYLOAD_BYTES)


def _logged_in(client) -> ApiClient:
    user = UserFactory()
    return ApiClient.login(client, user.email, PASSWORD)


def _run(schema: dict, attempt, adapt=st.just) -> list[dict]:
    """Run `attempt(body)` on bodies drawn from `schema` (then `adapt`ed), each
    on an empty database; return the bodies the API accepted."""
    accepted = []

    @EXAMPLES
    @given(from_schema(branches_spelled_out(schema)).flatmap(adapt))
    def check(body):
        jsonschema.validate(body, schema)
        delete_all_rows()
        attempt(body)
        accepted.append(body)

    check()
    # Each rule said in the test (assume) filters a few bodies at most.
    assert len(accepted) >= EXAMPLES.max_examples // 2
    return accepted


def test_generated_registrations_are_accepted(client, spec):
    def attempt(body):
        response = client.post("/users", json=body)
        assert response.status_code == 201, (body, response.get_json())
        check_answer(spec, "/users", "post", response)

    _run(request_schema(spec, "/users", "post"), attempt)


def test_generated_logins_are_accepted(client, spec):
    def attempt(body):
        # The account exists: stored under the form a login looks up.
        password_hash = hash_password(body["password"])
        UserFactory(email=emails.lookup_form(body["email"]), password_hash=password_hash)
        response = client.post("/auth/login", json=body)
        assert response.status_code == 200, (body, response.get_json())
        check_answer(spec, "/auth/login", "post", response)

    _run(request_schema(spec, "/auth/login", "post"), attempt)


def _with_a_real_template(api: ApiClient, body: dict) -> dict:
    """A template-form body names one of the caller's templates, at a version it has,
    with a target of that template's channel: which ids exist, no document can say."""
    channel = _channel_of(body)
    template = {"name": "T", "channel": channel, "title": "Hello", "content": "Hi there"}
    template_id = api.post("/templates", 201, json=template).get_json()["id"]
    body = {**body, "template_id": template_id, "target": BASE_TARGETS[channel]}
    if "template_version" in body:
        body["template_version"] = 1
    return body


def test_generated_notifications_are_accepted(client, spec):
    def attempt(body):
        api = _logged_in(client)
        if "template_id" in body:
            body = _with_a_real_template(api, body)
        else:
            _assume_channel_limits(body)
        response = api.post("/notifications", json=body)
        assert response.status_code == 201, (body, response.get_json())
        check_answer(spec, "/notifications", "post", response)

    accepted = _run(request_schema(spec, "/notifications", "post"), attempt, _real_phone)
    assert {_channel_of(body) for body in accepted} == set(channels.CHANNELS)
    assert any("template_id" in body for body in accepted)


def _base_notification(api: ApiClient, channel: str) -> int:
    body = {"title": "Base", "content": "Base", "channel": channel}
    return api.create(target=BASE_TARGETS[channel], **body).get_json()["id"]


def test_generated_replacements_are_accepted(client, spec):
    path = "/notifications/{notification_id}"

    def attempt(body):
        _assume_channel_limits(body)
        api = _logged_in(client)
        notification_id = _base_notification(api, channels.EMAIL)
        response = api.put(f"/notifications/{notification_id}", json=body)
        assert response.status_code == 200, (body, response.get_json())
        check_answer(spec, path, "put", response)

    _run(request_schema(spec, path, "put"), attempt, _real_phone)


def test_generated_notification_patches_are_accepted(client, spec):
    path = "/notifications/{notification_id}"

    def attempt(body):
        # The stored notification the patch applies to has the channel the patch
        # names (or whose target it gives): the document pairs them within a body.
        channel = _channel_of(body)
        merged = {"title": "Base", "content": "Base", "channel": channel, **body}
        _assume_channel_limits(merged)
        api = _logged_in(client)
        notification_id = _base_notification(api, channel)
        response = api.patch(f"/notifications/{notification_id}", json=body)
        assert response.status_code == 200, (body, response.get_json())
        check_answer(spec, path, "patch", response)

    _run(request_schema(spec, path, "patch"), attempt, _real_phone)


def test_generated_api_keys_are_accepted(client, spec):
    def attempt(body):
        # "In the future" depends on the clock, which a schema cannot say.
        expires_at = body.get("expires_at")
        assume(expires_at is None or _parsed(expires_at) > utcnow() + timedelta(hours=1))
        response = _logged_in(client).post("/api-keys", json=body)
        assert response.status_code == 201, (body, response.get_json())
        check_answer(spec, "/api-keys", "post", response)

    _run(request_schema(spec, "/api-keys", "post"), attempt)


def _parsed(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        return datetime.min.replace(tzinfo=utcnow().tzinfo)


@pytest.fixture
def any_webhook_host(app, monkeypatch):
    """A webhook's host must resolve to a public address: a fact of the DNS at
    registration, not of the text. Allowing private networks skips that lookup
    (this machine has no DNS), and leaves every rule of the text in force."""
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_NETWORKS", True)


@pytest.mark.usefixtures("any_webhook_host")
def test_generated_webhooks_are_accepted(client, spec):
    def attempt(body):
        response = _logged_in(client).post("/webhooks", json=body)
        assert response.status_code == 201, (body, response.get_json())
        check_answer(spec, "/webhooks", "post", response)

    _run(request_schema(spec, "/webhooks", "post"), attempt)


@pytest.mark.usefixtures("any_webhook_host")
def test_generated_webhook_patches_are_accepted(client, spec):
    path = "/webhooks/{webhook_id}"

    def attempt(body):
        api = _logged_in(client)
        created = api.post("/webhooks", 201, json={"url": "https://hooks.example.com/in"})
        response = api.patch(f"/webhooks/{created.get_json()['id']}", json=body)
        assert response.status_code == 200, (body, response.get_json())
        check_answer(spec, path, "patch", response)

    _run(request_schema(spec, path, "patch"), attempt)
