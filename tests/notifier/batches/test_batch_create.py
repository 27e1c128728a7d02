"""POST /batches: one template to many recipients, all or nothing."""

from __future__ import annotations

import pytest

from tests.notifier.batches.conftest import (
    counted,
    notification_count,
    notifications_of,
    recipients,
    send_batch,
)

STATUSES = ("pending", "sending", "sent", "failed", "cancelled", "delivered")


def test_a_batch_creates_one_rendered_pending_notification_per_recipient(api, user, template):
    response = send_batch(
        api, template["id"], recipients=recipients(3, reference="r"), name="Launch"
    )
    body = response.get_json()
    assert response.headers["Location"] == f"/batches/{body['id']}"
    assert body["name"] == "Launch"
    assert (body["template_id"], body["template_version"]) == (template["id"], 1)
    assert body["channel"] == "email"
    assert body["total"] == 3
    assert body["counts"] == {s: (3 if s == "pending" else 0) for s in STATUSES}
    assert (body["status"], body["finished_at"]) == ("pending", None)
    rows = notifications_of(body["id"])
    assert [(row.target, row.title, row.content) for row in rows] == [
        (f"user{i}@example.com", f"Hello User {i}", f"Your code is {i}.") for i in range(3)
    ]
    assert {(row.status, row.reference, row.template_id) for row in rows} == {
        ("pending", "r", template["id"])
    }
    assert len({row.delivery_key for row in rows}) == 3
    assert counted(user.id) == {"pending": 3}


def test_a_batchs_notifications_show_their_batch_and_the_list_filters_by_it(api, template):
    first = send_batch(api, template["id"], recipients=recipients(2)).get_json()
    send_batch(api, template["id"], recipients=recipients(1))
    api.create()
    listed = api.get(f"/notifications?batch_id={first['id']}")
    assert '"total": 2' in listed.headers["X-Pagination"]
    assert {item["batch_id"] for item in listed.get_json()} == {first["id"]}
    single = api.get("/notifications?page_size=100").get_json()
    assert [item["batch_id"] for item in single].count(None) == 1


def test_the_name_defaults_to_the_templates_name(api, template):
    assert send_batch(api, template["id"], recipients=recipients(1)).get_json()["name"] == (
        "Greeting"
    )


def test_a_csv_batch_reads_the_header_a_bom_crlf_quotes_and_references(api, template):
    csv = (
        "\ufefftarget,name,code,reference\r\n"
        'a@example.com,"Smith, Ada",1,ref-a\r\n'
        'b@example.com,Bob,"two\r\nlines",\r\n'
        "c@example.com,Cy,3,ref-c\r\n"
    )
    body = send_batch(api, template["id"], csv=csv).get_json()
    assert body["total"] == 3
    rows = notifications_of(body["id"])
    assert [(r.target, r.title, r.content, r.reference) for r in rows] == [
        ("a@example.com", "Hello Smith, Ada", "Your code is 1.", "ref-a"),
        ("b@example.com", "Hello Bob", "Your code is two\r\nlines.", None),
        ("c@example.com", "Hello Cy", "Your code is 3.", "ref-c"),
    ]


def test_a_csv_row_is_named_by_the_line_it_starts_on(api, template):
    csv = 'target,name,code\na@example.com,A,"1\n2"\nnope,B,3\n'
    errors = send_batch(api, template["id"], 422, csv=csv).get_json()["errors"]["json"]["csv"]
    assert set(errors) == {"4"}


def test_an_invalid_recipient_creates_nothing_and_is_named_by_its_index(api, user, template):
    items = recipients(5)
    items[1]["target"] = "not an address"
    items[3]["personalisation"] = {"name": "x"}
    response = send_batch(api, template["id"], 422, recipients=items)
    body = response.get_json()
    assert body["message"].startswith("2 rows are invalid")
    errors = body["errors"]["json"]["recipients"]
    assert set(errors) == {"1", "3"}
    assert "target" in errors["1"]
    assert "code" in errors["3"]["personalisation"][0]
    assert notification_count() == 0
    assert api.get("/batches").get_json() == []
    assert counted(user.id) == {}


def test_a_csv_error_is_named_by_its_line_with_the_header_as_line_1(api, template):
    csv = "target,name,code\na@example.com,A,1\nnope,B,2\nc@example.com,C\n"
    errors = send_batch(api, template["id"], 422, csv=csv).get_json()["errors"]["json"]["csv"]
    assert set(errors) == {"3", "4"}
    assert "target" in errors["3"]
    assert "header has 3" in errors["4"]["_schema"][0]
    assert notification_count() == 0


def test_at_least_the_first_hundred_invalid_rows_are_listed_and_all_are_counted(api, template):
    items = [{"target": f"bad{i}"} for i in range(250)]
    body = send_batch(api, template["id"], 422, recipients=items).get_json()
    assert body["message"].startswith("250 rows are invalid")
    assert len(body["errors"]["json"]["recipients"]) == 100
    assert "0" in body["errors"]["json"]["recipients"]


@pytest.mark.parametrize(
    ("csv", "line"),
    [
        ('target,name,code\n"a@example.com,A,1\n', "2"),  # an unterminated quote
        ("name,code\nA,1\n", "1"),  # no target column
        ("target,name,name\na@example.com,A,B\n", "1"),  # a column named twice
        ("target,name,code\n", "2"),  # no rows
        ("target,name,code\n\na@example.com,A,1\n", "2"),  # a blank line is a ragged row
    ],
)
def test_a_malformed_csv_is_422_naming_its_line_and_creates_nothing(api, template, csv, line):
    body = send_batch(api, template["id"], 422, csv=csv).get_json()
    assert line in body["errors"]["json"]["csv"]
    assert notification_count() == 0


def test_a_nul_in_the_csv_is_422(api, template):
    body = send_batch(api, template["id"], 422, csv="target\na@example.com\x00\n").get_json()
    assert "csv" in body["errors"]["json"]
    assert notification_count() == 0


def test_a_body_that_is_not_utf8_is_refused(api, template):
    data = b'{"template_id": %d, "csv": "target\\n\xff@example.com\\n"}' % template["id"]
    response = api.post("/batches", headers={"Content-Type": "application/json"}, data=data)
    assert response.status_code in (400, 422)
    assert notification_count() == 0


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"recipients": [{"target": "a@example.com"}], "csv": "target\na@example.com\n"},
        {"recipients": []},
        {"recipients": {"target": "a@example.com"}},
    ],
)
def test_exactly_one_non_empty_list_of_recipients_is_required(api, template, body):
    send_batch(api, template["id"], 422, **body)
    assert notification_count() == 0


def test_more_than_50000_recipients_is_422(api, template):
    items = [{"target": "a@example.com"}] * 50_001
    body = send_batch(api, template["id"], 422, recipients=items).get_json()
    assert "recipients" in body["errors"]["json"]


def test_a_csv_of_more_than_50000_rows_is_422(api, template):
    csv = "target\n" + "a@example.com\n" * 50_001
    body = send_batch(api, template["id"], 422, csv=csv).get_json()
    assert "50001" in body["errors"]["json"]["csv"] or "50002" in body["errors"]["json"]["csv"]
    assert notification_count() == 0


def test_a_body_over_16_mib_is_413_and_other_routes_keep_64_kib(api, template):
    big = "x" * (17 * 1024 * 1024)
    response = api.post("/batches", 413, data=big, headers={"Content-Type": "application/json"})
    assert response.get_json()["code"] == 413
    assert notification_count() == 0
    api.post("/notifications", 413, data="x" * 70_000, headers={"Content-Type": "application/json"})


def test_a_body_between_64_kib_and_16_mib_is_accepted(api, template):
    items = recipients(1000, reference="r" * 100)
    response = send_batch(api, template["id"], recipients=items)
    assert response.get_json()["total"] == 1000


def test_unknown_fields_in_a_recipient_are_named(api, template):
    items = [{"target": "a@example.com", "personalisation": {"name": "A", "code": 1}, "x": 1}]
    errors = send_batch(api, template["id"], 422, recipients=items).get_json()["errors"]
    assert errors["json"]["recipients"] == {"0": {"x": ["Unknown field."]}}


def test_another_users_template_is_422(other_api, template):
    send_batch(other_api, template["id"], 422, recipients=recipients(1))
    assert notification_count() == 0


def test_a_pinned_version_renders_that_version(api, template):
    api.patch(f"/templates/{template['id']}", 200, json={"title": "Hi {{ name }}"})
    body = send_batch(api, template["id"], recipients=recipients(1), template_version=1)
    assert body.get_json()["template_version"] == 1
    assert notifications_of()[0].title == "Hello User 0"


def test_a_scheduled_batch_is_not_due_before_its_time(api, template):
    body = send_batch(
        api, template["id"], recipients=recipients(2), scheduled_at="2030-01-01T00:00:00+00:00"
    ).get_json()
    assert body["scheduled_at"] == "2030-01-01T00:00:00+00:00"
    assert {row.next_attempt_at.year for row in notifications_of()} == {2030}


def test_unsubscribe_is_accepted(api, template):
    send_batch(api, template["id"], recipients=recipients(1), unsubscribe=False)
    send_batch(api, template["id"], 422, recipients=recipients(1), unsubscribe="maybe")


def test_the_idempotency_key_replays_the_first_batch(api, template):
    headers = {"Idempotency-Key": "batch-1"}
    first = api.post(
        "/batches",
        201,
        headers=headers,
        json={"template_id": template["id"], "recipients": recipients(2)},
    )
    again = api.post(
        "/batches",
        201,
        headers=headers,
        json={"template_id": template["id"], "recipients": recipients(2)},
    )
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert notification_count() == 2
    other = {"template_id": template["id"], "recipients": recipients(3)}
    api.post("/batches", 422, headers=headers, json=other)
    assert notification_count() == 2


def test_a_scheduled_batch_with_an_idempotency_key_is_created_once(api, template):
    headers = {"Idempotency-Key": "batch-later"}
    body = {
        "template_id": template["id"],
        "csv": "target,name,code\nuser0@example.com,Ann,42\n",
        "scheduled_at": "2099-01-01T09:00:00+02:00",
    }
    first = api.post("/batches", 201, headers=headers, json=body)
    again = api.post("/batches", 201, headers=headers, json=body)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert first.get_json()["scheduled_at"].startswith("2099-01-01T07:00:00")
    later = {**body, "scheduled_at": "2099-01-02T09:00:00+02:00"}
    api.post("/batches", 422, headers=headers, json=later)
    assert notification_count() == 1


def test_a_refused_batch_does_not_use_its_idempotency_key(api, template):
    headers = {"Idempotency-Key": "batch-2"}
    bad = {"template_id": template["id"], "recipients": [{"target": "nope"}]}
    api.post("/batches", 422, headers=headers, json=bad)
    good = {"template_id": template["id"], "recipients": recipients(1)}
    assert (
        "Idempotent-Replayed" not in api.post("/batches", 201, headers=headers, json=good).headers
    )


def test_a_suppressed_recipient_is_created_failed_and_the_others_pending(api, template):
    api.post("/suppressions", 201, json={"channel": "email", "target": "USER1@example.com"})
    body = send_batch(api, template["id"], recipients=recipients(3)).get_json()
    assert body["counts"]["failed"] == 1
    assert body["counts"]["pending"] == 2
    rows = {row.target: row for row in notifications_of(body["id"])}
    assert rows["user1@example.com"].status == "failed"
    assert rows["user1@example.com"].error_message == "Suppressed: manual"
    assert {rows[t].status for t in ("user0@example.com", "user2@example.com")} == {"pending"}


def test_another_users_suppression_does_not_fail_a_batch_row(api, other_api, template):
    other_api.post("/suppressions", 201, json={"channel": "email", "target": "user1@example.com"})
    body = send_batch(api, template["id"], recipients=recipients(2)).get_json()
    assert body["counts"]["pending"] == 2
