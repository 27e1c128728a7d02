"""`flask seed`: a demo user and notifications in every channel and status."""

from notifier.extensions import db
from notifier.notifications.models import Notification
from notifier.seed import DEMO_EMAIL, DEMO_PASSWORD
from tests.helpers import ApiClient


def test_seed_creates_a_usable_demo_account_and_running_twice_does_no_harm(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    assert f"{DEMO_EMAIL} / {DEMO_PASSWORD}" in first.output
    count = db.session.query(Notification).count()
    second = runner.invoke(args=["seed"])
    assert second.exit_code == 0
    assert "0 notifications added" in second.output
    assert db.session.query(Notification).count() == count

    api = ApiClient.login(app.test_client(), DEMO_EMAIL, DEMO_PASSWORD)
    listed = api.get("/notifications?page_size=100").get_json()
    assert {n["channel"] for n in listed} == {"email", "sms", "push"}
    assert {n["status"] for n in listed} == {"pending", "sending", "sent", "failed"}
    sent = next(n for n in listed if n["status"] == "sent")
    assert api.get(f"/notifications/{sent['id']}/attempts").get_json()[0]["outcome"] == "sent"


def test_seed_prints_a_working_test_key_and_replaces_it_on_each_run(app):
    runner = app.test_cli_runner()
    keys = []
    for _ in range(2):
        result = runner.invoke(args=["seed"])
        assert result.exit_code == 0, result.output
        keys.append(result.output.strip().splitlines()[-1].rsplit(" ", 1)[1])
    first, second = keys
    assert first.startswith("ntf_test_") and second.startswith("ntf_test_") and first != second
    ApiClient(app.test_client(), first, "").get("/notifications", 401)
    demo_key = ApiClient(app.test_client(), second, "")
    created = demo_key.create().get_json()
    assert created["sandbox"] is True
    api = ApiClient.login(app.test_client(), DEMO_EMAIL, DEMO_PASSWORD)
    assert len(api.get("/api-keys").get_json()) == 1
