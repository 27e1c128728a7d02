"""What the Python client puts on the wire, and how it retries, against a real tiny HTTP
server on 127.0.0.1 that records each request and answers from a script. Templates,
batches and cancel are checked here too: their routes are built elsewhere."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from notifier_client import Client, NotifierError, __version__
from notifier_client.transport import parse_retry_after

from tests.clients.conftest import Answer

TEMPLATE = {"id": 3, "channel": "email", "version": 1}
BATCH = {"id": 7, "status": "pending", "total": 2}


def unavailable(retry_after: str | None = "0", status: int = 503) -> Answer:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    body = {"code": status, "status": "Unavailable", "message": "Try again shortly."}
    return Answer(status, body, headers)


def paged(items: list, page: int, next_page: int | None) -> Answer:
    pagination = {"page": page, **({"next_page": next_page} if next_page else {})}
    return Answer(200, items, {"X-Pagination": json.dumps(pagination)})


@pytest.fixture
def client(scripted):
    with Client(scripted.url, api_key="ntf_live_" + "a" * 40) as made:
        yield made


def test_send_with_a_template_posts_the_fields_given_with_key_and_credentials(client, scripted):
    scripted.answer(Answer(201, {"id": 1}))
    assert client.send(template_id=3, target="ada@example.com", personalisation={"n": 1}) == {
        "id": 1
    }
    (seen,) = scripted.seen
    assert (seen.method, seen.path) == ("POST", "/notifications")
    assert seen.json() == {
        "template_id": 3,
        "target": "ada@example.com",
        "personalisation": {"n": 1},
    }
    assert seen.headers["Authorization"] == "Bearer ntf_live_" + "a" * 40
    assert seen.headers["User-Agent"] == f"notifier-client/{__version__}"
    uuid.UUID(seen.headers["Idempotency-Key"])


def test_each_send_has_its_own_key_unless_one_is_given(client, scripted):
    when = datetime(2030, 1, 2, 3, 4, tzinfo=UTC)
    client.send(target="a@example.com", channel="email", title="t", content="c")
    client.send(target="a@example.com", channel="email", title="t", content="c")
    client.send(target="a@example.com", channel="sms", content="c", idempotency_key="order-42",
                scheduled_at=when, reference="r1", unsubscribe=True)  # fmt: skip
    keys = [seen.headers["Idempotency-Key"] for seen in scripted.seen]
    assert keys[0] != keys[1]
    assert keys[2] == "order-42"
    assert scripted.seen[2].json()["scheduled_at"] == "2030-01-02T03:04:00+00:00"
    assert scripted.seen[2].json()["unsubscribe"] is True


def test_a_503_then_201_is_one_call_with_one_key(client, scripted):
    scripted.answer(unavailable(), Answer(201, {"id": 9}))
    assert client.send(target="a@example.com", channel="email", title="t", content="c")["id"] == 9
    first, second = scripted.seen
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert first.body == second.body


def test_429_is_tried_three_times_by_default_then_raised(client, scripted):
    scripted.answer(*[unavailable(status=429)] * 5)
    with pytest.raises(NotifierError) as caught:
        client.get(1)
    assert caught.value.status == 429
    assert caught.value.message == "Try again shortly."
    assert len(scripted.seen) == 3


def test_the_number_of_tries_is_configurable(scripted):
    scripted.answer(*[unavailable()] * 4, Answer(200, {"id": 1}))
    assert Client(scripted.url, token="t", max_tries=5).get(1) == {"id": 1}
    scripted.answer(unavailable())
    with pytest.raises(NotifierError):
        Client(scripted.url, token="t", max_tries=1).get(1)
    assert len(scripted.seen) == 6


def test_a_retry_after_longer_than_the_client_waits_is_raised_at_once(client, scripted):
    scripted.answer(unavailable("3600"))
    with pytest.raises(NotifierError) as caught:
        client.get(1)
    assert caught.value.status == 503
    assert caught.value.response.headers["Retry-After"] == "3600"
    assert len(scripted.seen) == 1


def test_a_create_still_in_flight_409_with_retry_after_is_waited_out(client, scripted):
    scripted.answer(unavailable(status=409), Answer(201, BATCH))
    assert client.send_batch(template_id=3, recipients=[{"target": "a@example.com"}]) == BATCH
    assert len(scripted.seen) == 2


def test_other_errors_are_raised_at_once_with_their_details(client, scripted):
    errors = {"json": {"target": ["Not a valid email address."]}}
    body = {"code": 422, "status": "Unprocessable Entity", "message": "Invalid.", "errors": errors}
    scripted.answer(Answer(422, body), Answer(502, b"<html>bad gateway</html>"))
    with pytest.raises(NotifierError) as caught:
        client.send(target="x", channel="email", title="t", content="c")
    assert (caught.value.status, caught.value.errors) == (422, errors)
    with pytest.raises(NotifierError) as caught:
        client.get(1)
    assert (caught.value.status, caught.value.message) == (502, "<html>bad gateway</html>")
    assert str(caught.value) == "502 <html>bad gateway</html>"
    assert len(scripted.seen) == 2


def test_a_dropped_connection_is_retried_for_reads_and_keyed_creates(client, scripted):
    scripted.answer(Answer(drop=True), Answer(200, {"id": 1}))
    assert client.get(1) == {"id": 1}
    scripted.answer(Answer(drop=True), Answer(201, {"id": 2}))
    assert client.send(target="a@example.com", channel="email", title="t", content="c")["id"] == 2
    assert len(scripted.seen) == 4


def test_a_dropped_connection_is_not_retried_for_a_cancel(client, scripted):
    """A cancel carries no key: repeated after it went through, it would answer 409."""
    scripted.answer(Answer(drop=True))
    with pytest.raises(NotifierError) as caught:
        client.cancel(5)
    assert caught.value.status is None
    assert len(scripted.seen) == 1


def test_nothing_listening_raises_notifier_error_without_status(scripted):
    url = scripted.url
    scripted.stop()
    with pytest.raises(NotifierError) as caught:
        Client(url, token="t", max_tries=2).get(1)
    assert caught.value.status is None
    assert url in caught.value.message


def test_lists_fetch_a_page_only_when_it_is_needed(client, scripted):
    scripted.answer(paged([{"id": 5}, {"id": 4}], 1, 2), paged([{"id": 3}], 2, None))
    pages = client.notifications(status="failed", sandbox=False, batch_id=7, page_size=2)
    assert scripted.seen == []
    assert next(pages) == {"id": 5}
    assert len(scripted.seen) == 1
    assert [n["id"] for n in pages] == [4, 3]
    assert [seen.path for seen in scripted.seen] == [
        "/notifications?status=failed&sandbox=false&batch_id=7&page=1&page_size=2",
        "/notifications?status=failed&sandbox=false&batch_id=7&page=2&page_size=2",
    ]


def test_a_list_stops_at_an_empty_page_or_without_a_next_page(client, scripted):
    scripted.answer(paged([], 1, 2))
    assert list(client.batches()) == []
    scripted.answer(Answer(200, [{"id": 1}], {"X-Pagination": "not json"}))
    assert list(client.templates()) == [{"id": 1}]
    assert len(scripted.seen) == 2


def test_notification_routes_use_their_paths_and_methods(client, scripted):
    scripted.answer(
        Answer(200, {"id": 5, "status": "cancelled"}),
        Answer(200, [{"number": 1}]),
        Answer(200, {"id": 5, "title": "New"}),
        Answer(204, b""),
    )
    assert client.cancel(5)["status"] == "cancelled"
    assert client.attempts(5) == [{"number": 1}]
    client.update(5, title="New", scheduled_at=None)
    assert client.delete(5) is None
    requests_made = [(s.method, s.path, s.body) for s in scripted.seen]
    assert requests_made == [
        ("POST", "/notifications/5/cancel", b""),
        ("GET", "/notifications/5/attempts", b""),
        ("PATCH", "/notifications/5", b'{"title": "New", "scheduled_at": null}'),
        ("DELETE", "/notifications/5", b""),
    ]
    assert "Idempotency-Key" not in scripted.seen[0].headers


def test_batch_routes_build_their_requests(client, scripted):
    recipients = [{"target": "a@example.com", "personalisation": {"name": "Ada"}}]
    scripted.answer(Answer(201, BATCH), Answer(201, BATCH), Answer(200, BATCH))
    client.send_batch(template_id=3, recipients=recipients, name="Launch")
    client.send_batch(template_id=3, csv="target\nb@example.com\n", idempotency_key="k1")
    assert client.batch(7) == BATCH
    scripted.answer(Answer(200, {**BATCH, "status": "cancelled"}), paged([BATCH], 1, None))
    assert client.cancel_batch(7)["status"] == "cancelled"
    assert list(client.batches(page_size=50)) == [BATCH]
    first, second, get, cancel, listed = scripted.seen
    assert first.json() == {"template_id": 3, "recipients": recipients, "name": "Launch"}
    assert second.json() == {"template_id": 3, "csv": "target\nb@example.com\n"}
    assert second.headers["Idempotency-Key"] == "k1"
    uuid.UUID(first.headers["Idempotency-Key"])
    assert (get.method, get.path) == ("GET", "/batches/7")
    assert (cancel.method, cancel.path) == ("POST", "/batches/7/cancel")
    assert listed.path == "/batches?page=1&page_size=50"


def test_template_routes_build_their_requests(client, scripted):
    preview = {"channel": "email", "version": 2, "title": "Hi Ada", "content": "c", "details": {}}
    scripted.answer(
        paged([TEMPLATE], 1, None),
        Answer(200, TEMPLATE),
        Answer(200, preview),
        Answer(200, preview),
        Answer(201, TEMPLATE),
        Answer(200, TEMPLATE),
        Answer(204, b""),
    )
    assert list(client.templates(channel="email")) == [TEMPLATE]
    assert client.template(3) == TEMPLATE
    assert client.preview(3, {"name": "Ada"}, version=2) == preview
    client.preview(3)
    client.create_template(name="Welcome", channel="email", title="Hi {{name}}", content="c")
    client.update_template(3, title="Hello {{name}}")
    assert client.delete_template(3) is None
    assert [(s.method, s.path, s.body and s.json()) for s in scripted.seen] == [
        ("GET", "/templates?channel=email&page=1&page_size=100", b""),
        ("GET", "/templates/3", b""),
        ("POST", "/templates/3/preview", {"personalisation": {"name": "Ada"}, "version": 2}),
        ("POST", "/templates/3/preview", {"personalisation": {}}),
        (
            "POST",
            "/templates",
            {"name": "Welcome", "channel": "email", "title": "Hi {{name}}", "content": "c"},
        ),
        ("PATCH", "/templates/3", {"title": "Hello {{name}}"}),
        ("DELETE", "/templates/3", b""),
    ]


def test_an_id_that_is_not_an_integer_is_refused_before_any_request(client, scripted):
    for bad in ["1/../../users/me", True, 2.0]:
        with pytest.raises(TypeError):
            client.get(bad)
    assert scripted.seen == []


def test_a_client_takes_an_api_key_or_a_token_not_both(scripted):
    with pytest.raises(ValueError, match="not both"):
        Client(scripted.url, api_key="k", token="t")
    with pytest.raises(ValueError, match="max_tries"):
        Client(scripted.url, token="t", max_tries=0)
    Client(scripted.url).get(1)
    assert "Authorization" not in scripted.seen[0].headers


def test_retry_after_is_read_as_seconds_or_as_a_date():
    soon = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    assert parse_retry_after("7") == 7.0
    assert 0 < parse_retry_after(soon) <= 3600
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00") == 0.0
    for odd in [None, "", "soon", "-1"]:
        assert parse_retry_after(odd) is None
