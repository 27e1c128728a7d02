"""The console's suppressions page through Flask's test client, on both databases:
the list (newest first), adding a target by hand, removing one."""

from __future__ import annotations

from sqlalchemy import func, select

from notifier.extensions import db
from notifier.suppressions import service
from notifier.suppressions.models import Suppression
from tests.console.support import post_form

PATH = "/console/suppressions"


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(Suppression))


def _add(user_id: int, target: str) -> int:
    entry, _ = service.create(user_id, {"channel": "email", "target": target})
    return entry["id"]


def test_the_suppressions_page_without_a_session_sends_to_sign_in(browser):
    for response in (browser.get(PATH), browser.post(f"{PATH}/1/delete")):
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/console/login")


def test_adding_a_target_by_hand_lists_it_with_the_manual_reason(signed_in, user):
    response = post_form(signed_in, PATH, {"channel": "email", "target": " Ada@Example.com "})
    assert response.status_code == 303
    text = signed_in.get(PATH).get_data(as_text=True)
    assert "ada@example.com" in text.lower()
    assert "<td>manual</td>" in text
    assert _count() == 1


def test_an_invalid_target_is_shown_next_to_its_field_and_nothing_is_added(signed_in):
    response = post_form(signed_in, PATH, {"channel": "email", "target": "not-an-address"})
    assert response.status_code == 422
    assert 'id="target-error">' in response.get_data(as_text=True)
    assert _count() == 0


def test_the_list_is_newest_first_and_only_mine(signed_in, user, stranger):
    _add(user.id, "first@example.com")
    _add(user.id, "second@example.com")
    _add(stranger.id, "theirs@example.com")
    text = signed_in.get(PATH).get_data(as_text=True)
    assert text.index("second@example.com") < text.index("first@example.com")
    assert "theirs@example.com" not in text
    assert "2 suppressed targets" in text


def test_removing_a_suppression_lifts_it(signed_in, user):
    entry_id = _add(user.id, "ada@example.com")
    response = post_form(signed_in, f"{PATH}/{entry_id}/delete", page=PATH)
    assert response.status_code == 303
    assert _count() == 0
    assert "ada@example.com" not in signed_in.get(PATH).get_data(as_text=True)


def test_posts_without_a_csrf_token_are_400_and_change_nothing(signed_in, user):
    entry_id = _add(user.id, "ada@example.com")
    assert signed_in.post(f"{PATH}/{entry_id}/delete").status_code == 400
    added = signed_in.post(PATH, data={"channel": "email", "target": "bob@example.com"})
    assert added.status_code == 400
    assert _count() == 1


def test_another_users_suppression_cannot_be_removed(signed_in, stranger):
    entry_id = _add(stranger.id, "theirs@example.com")
    response = post_form(signed_in, f"{PATH}/{entry_id}/delete", page=PATH)
    assert response.status_code == 404
    assert _count() == 1
