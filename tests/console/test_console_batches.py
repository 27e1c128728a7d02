"""The console's batches pages through Flask's test client, on both databases:
upload a CSV file, see its per-line errors, follow a batch's progress, cancel it."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from notifier.batches.models import Batch
from notifier.extensions import db
from notifier.notifications.models import Notification
from tests.console.support import TOKEN, ConsoleClient, csrf_token, post_form, sign_in

CSV = "target,name\nada@example.com,Ada\nbob@example.com,Bob\n"


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _template(client) -> int:
    body = {"name": "Welcome", "channel": "email", "title": "Hi {{ name }}"}
    body["content"] = "Hello {{ name }}, welcome."
    response = post_form(client, "/console/templates", body)
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _upload(client, template_id, content: bytes, token: str | None = None):
    data = {"template_id": str(template_id), "file": (io.BytesIO(content), "people.csv")}
    if token is not False:
        data["csrf_token"] = token or csrf_token(client, "/console/batches")
    return client.post("/console/batches", data=data, content_type="multipart/form-data")


def _batch(client) -> int:
    response = _upload(client, _template(client), CSV.encode())
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


@pytest.fixture
def other(app, stranger) -> ConsoleClient:
    """A second browser, signed in as the stranger."""
    app.test_client_class = ConsoleClient
    try:
        client = app.test_client()
    finally:
        app.test_client_class = None
    assert sign_in(client, stranger.email).status_code == 302
    return client


@pytest.mark.parametrize(
    "path", ["/console/batches", "/console/batches/1", "/console/batches/1.json"]
)
def test_batch_pages_without_a_session_send_to_sign_in(browser, path):
    response = browser.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/console/login")


def test_uploading_a_csv_file_creates_a_batch_and_lists_it(signed_in):
    response = _upload(signed_in, _template(signed_in), ("\ufeff" + CSV).encode())
    assert response.status_code == 303, response.get_data(as_text=True)
    assert _count(Batch) == 1
    assert _count(Notification) == 2
    page = signed_in.get(response.headers["Location"])
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-field="total">2<' in text
    assert 'data-count="pending">2<' in text
    assert "batch.js" in text
    listing = signed_in.get("/console/batches").get_data(as_text=True)
    assert ">Welcome</a>" in listing


def test_a_csv_with_invalid_lines_lists_each_line_and_creates_nothing(signed_in):
    bad = b"target,name\nnot-an-address,Ada\nbob@example.com,Bob\nalso bad,Cy\n"
    response = _upload(signed_in, _template(signed_in), bad)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "2 rows are invalid; nothing was created." in text
    assert "<li>Line 2, target:" in text
    assert "<li>Line 4, target:" in text
    assert _count(Batch) == 0


def test_a_file_that_is_not_utf8_is_refused_next_to_the_file_input(signed_in):
    response = _upload(
        signed_in, _template(signed_in), "target\nzoë@example.com\n".encode("latin-1")
    )
    assert response.status_code == 422
    assert 'id="file-error">The file is not UTF-8 text' in response.get_data(as_text=True)
    assert _count(Batch) == 0


def test_a_file_over_the_limit_is_refused_with_a_message(app, signed_in, monkeypatch):
    from notifier.console.views import batches

    template_id = _template(signed_in)
    monkeypatch.setattr(batches, "MAX_FILE_BYTES", 10)
    response = _upload(signed_in, template_id, CSV.encode())
    assert response.status_code == 422
    assert 'id="file-error">The file is larger than 16 MiB.' in response.get_data(as_text=True)
    monkeypatch.setitem(app.config, "BATCH_MAX_CONTENT_LENGTH", 100)
    response = _upload(signed_in, template_id, CSV.encode() * 20)
    assert response.status_code == 413
    assert "larger than the 100 bytes allowed" in response.get_data(as_text=True)
    assert _count(Batch) == 0


def test_no_template_chosen_is_shown_next_to_the_select(signed_in):
    response = _upload(signed_in, "", CSV.encode())
    assert response.status_code == 422
    assert 'id="template_id-error">' in response.get_data(as_text=True)


def test_an_upload_without_a_csrf_token_is_400_and_creates_nothing(signed_in):
    response = _upload(signed_in, _template(signed_in), CSV.encode(), token=False)
    assert response.status_code == 400
    assert _count(Batch) == 0


def test_the_progress_endpoint_answers_the_batch_counts(signed_in):
    batch_id = _batch(signed_in)
    response = signed_in.get(f"/console/batches/{batch_id}.json")
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == batch_id
    assert body["total"] == 2
    assert body["counts"]["pending"] == 2
    assert body["status"] == "pending"


def test_cancelling_a_batch_cancels_its_pending_notifications(signed_in):
    batch_id = _batch(signed_in)
    path = f"/console/batches/{batch_id}/cancel"
    response = post_form(signed_in, path, page=f"/console/batches/{batch_id}")
    assert response.status_code == 303
    body = signed_in.get(f"/console/batches/{batch_id}.json").get_json()
    assert body["status"] == "cancelled"
    assert body["counts"]["cancelled"] == 2
    # Nothing is left to send: the page's progress bar is full.
    page = signed_in.get(f"/console/batches/{batch_id}").get_data(as_text=True)
    assert '<progress id="batch-bar" max="2" value="2">2 of 2</progress>' in page


def test_a_new_batch_page_shows_no_progress_yet(signed_in):
    page = signed_in.get(f"/console/batches/{_batch(signed_in)}").get_data(as_text=True)
    assert '<progress id="batch-bar" max="2" value="0">0 of 2</progress>' in page


def test_a_cancel_without_a_csrf_token_is_400_and_changes_nothing(signed_in):
    batch_id = _batch(signed_in)
    assert signed_in.post(f"/console/batches/{batch_id}/cancel").status_code == 400
    body = signed_in.get(f"/console/batches/{batch_id}.json").get_json()
    assert body["counts"]["pending"] == 2


def test_another_users_batch_is_404_on_every_page(signed_in, other):
    batch_id = _batch(signed_in)
    assert other.get(f"/console/batches/{batch_id}").status_code == 404
    assert other.get(f"/console/batches/{batch_id}.json").status_code == 404
    path = f"/console/batches/{batch_id}/cancel"
    assert post_form(other, path, page="/console/batches").status_code == 404
    assert signed_in.get(f"/console/batches/{batch_id}.json").get_json()["counts"]["pending"] == 2
    assert ">Welcome</a>" not in other.get("/console/batches").get_data(as_text=True)


# --- one batch per form: its one-time key ---------------------------------------------------

OTHER_CSV = "target,name\ncy@example.com,Cy\n"
FORM_KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


def _form(client) -> dict[str, str]:
    """The upload form's hidden fields, as the browser holds them once the page is shown."""
    text = client.get("/console/batches").get_data(as_text=True)
    return {
        "csrf_token": TOKEN.search(text).group(1),
        "idempotency_key": FORM_KEY.search(text).group(1),
    }


def _send(client, form: dict[str, str], template_id: int, content: str = CSV):
    data = {
        **form,
        "template_id": str(template_id),
        "file": (io.BytesIO(content.encode()), "a.csv"),
    }
    return client.post("/console/batches", data=data, content_type="multipart/form-data")


def test_every_showing_of_the_upload_form_has_its_own_key(signed_in):
    keys = {_form(signed_in)["idempotency_key"] for _ in range(3)}
    assert len(keys) == 3
    assert all(len(key) >= 32 for key in keys)


def test_the_same_form_sent_twice_creates_one_batch_and_answers_it_both_times(signed_in):
    template_id = _template(signed_in)
    form = _form(signed_in)

    first = _send(signed_in, form, template_id)
    again = _send(signed_in, form, template_id)

    assert first.status_code == again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]
    assert _count(Batch) == 1
    assert _count(Notification) == 2


def test_a_used_form_sent_with_another_file_creates_nothing_and_is_renewed(signed_in):
    template_id = _template(signed_in)
    form = _form(signed_in)
    assert _send(signed_in, form, template_id).status_code == 303

    other = _send(signed_in, form, template_id, OTHER_CSV)

    text = other.get_data(as_text=True)
    assert other.status_code == 422
    assert "This form already sent a batch" in text
    assert _count(Batch) == 1
    renewed = {**form, "idempotency_key": FORM_KEY.search(text).group(1)}
    assert renewed["idempotency_key"] != form["idempotency_key"]
    assert _send(signed_in, renewed, template_id, OTHER_CSV).status_code == 303
    assert _count(Batch) == 2
    assert _count(Notification) == 3


def test_a_form_key_the_api_would_refuse_creates_nothing(signed_in):
    template_id = _template(signed_in)
    form = {**_form(signed_in), "idempotency_key": "x" * 256}

    response = _send(signed_in, form, template_id)

    assert response.status_code == 422
    assert "This form&#39;s key is not valid: reload the page" in response.get_data(as_text=True)
    assert _count(Batch) == 0
