"""The console's template pages: create, edit, preview through the API's rules; another
user's template is 404; hostile text shows as text.
"""

from __future__ import annotations

import re

from notifier.templates.models import Template
from tests.console.support import HOSTILE, post_form, row_count, sign_in
from tests.factories import UserFactory


def _template(signed_in, **fields) -> str:
    body = {"name": "Welcome", "channel": "email", "title": "Hi {{ name }}"}
    body |= {"content": "Hello {{ name }}, welcome."} | fields
    response = post_form(signed_in, "/console/templates", body)
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"]


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
    assert row_count(Template) == 0


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
    assert row_count(Template) == 1
