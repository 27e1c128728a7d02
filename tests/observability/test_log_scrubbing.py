"""No secret used in a realistic session appears in any log line or in `/metrics`.

Everything our logging configuration lets through is captured at DEBUG (as with
`LOG_LEVEL=DEBUG`), from every logger, and each record is checked as our JSON and
text formatters write it, with its raw arguments.
A new kind of secret (an API key, a webhook secret) is one more `secrets.append`.
"""

from __future__ import annotations

import io
import logging

from sqlalchemy import select

from notifier.extensions import db
from notifier.observability.logs import JsonFormatter, TextFormatter, configure_logging
from notifier.users.models import User
from notifier.worker.policy import Settings
from notifier.worker.runner import Dispatcher
from tests.dispatch_steps import dispatch_due
from tests.notifier.worker.fake_delivery import FakeDelivery
from tests.observability.scrape import AUTH, TOKEN

PASSWORD = "Sup3r secret passphrase!"
WRONG_PASSWORD = "n0t the right one at all"


def _shapes(secret: str) -> list[str]:
    """The secret, and for a JWT its signature alone, for an API key its random part
    (a line may hold just a part)."""
    parts = secret.split(".")
    if secret.startswith("ntf_"):
        return [secret, secret[9:]]
    return [secret, parts[2]] if len(parts) == 3 else [secret]


def test_a_full_session_logs_no_secret(app, client, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("sqlalchemy.pool", "werkzeug", "urllib3", "notifier", "delivery"):
        caplog.set_level(logging.DEBUG, logger=name)

    email = "scrub.me@example.com"
    assert (
        client.post(
            "/users", json={"name": "Scrub", "email": email, "password": PASSWORD}
        ).status_code
        == 201
    )
    for attempt in (WRONG_PASSWORD, PASSWORD.upper(), PASSWORD[:-1]):
        assert (
            client.post("/auth/login", json={"email": email, "password": attempt}).status_code
            == 401
        )
    unknown = {"email": "nobody@example.com", "password": PASSWORD}
    assert client.post("/auth/login", json=unknown).status_code == 401
    tokens = client.post("/auth/login", json={"email": email, "password": PASSWORD}).get_json()
    access, refresh = tokens["access_token"], tokens["refresh_token"]
    bearer = {"Authorization": f"Bearer {access}"}
    assert client.get("/users/me", headers=bearer).status_code == 200
    refreshed = client.post("/auth/refresh", headers={"Authorization": f"Bearer {refresh}"})
    new_access = refreshed.get_json()["access_token"]
    body = {"title": "Hi", "content": "Hello", "channel": "email", "target": "to@example.com"}
    assert client.post("/notifications", json=body, headers=bearer).status_code == 201
    assert client.get("/notifications", headers=bearer).status_code == 200
    delivery = FakeDelivery()
    try:
        delivery.post("/deliver", json={"status": "sent", "provider_message_id": "p-1"})
        settings = Settings.from_config(app.config, service_url=delivery.url)
        dispatcher = Dispatcher(db.engine, settings)
        assert dispatch_due(dispatcher) == 1
        dispatcher.client.close()
        dispatcher.waiter.close()
    finally:
        delivery.close()
    assert len(delivery.calls) == 1
    # API keys: created, used (a new key is looked up and its use written), refused.
    keys = []
    for mode in ("live", "test"):
        made = client.post("/api-keys", json={"name": mode, "mode": mode}, headers=bearer)
        keys.append(made.get_json())
    for made in keys:
        with_key = {"Authorization": f"Bearer {made['key']}"}
        assert client.post("/notifications", json=body, headers=with_key).status_code == 201
        assert client.get("/notifications", headers=with_key).status_code == 200
        assert client.get("/users/me", headers=with_key).status_code == 403
        wrong = {"Authorization": f"Bearer {made['key']}x"}
        assert client.get("/notifications", headers=wrong).status_code == 401
    assert client.delete(f"/api-keys/{keys[0]['id']}", headers=bearer).status_code == 204
    deleted = {"Authorization": f"Bearer {keys[0]['key']}"}
    assert client.get("/notifications", headers=deleted).status_code == 401
    assert client.post("/auth/logout", headers=bearer).status_code == 204
    assert client.get("/users/me", headers=bearer).status_code == 401
    assert (
        client.get("/users/me", headers={"Authorization": f"Bearer {access}x"}).status_code == 401
    )
    metrics = client.get("/metrics", headers=AUTH).get_data(as_text=True)
    db.session.remove()
    password_hash = db.session.scalar(select(User.password_hash).where(User.email == email))

    secrets = [PASSWORD, WRONG_PASSWORD, password_hash, access, refresh, new_access, TOKEN]
    secrets.append(app.config["JWT_SECRET_KEY"])
    secrets += [made["key"] for made in keys]
    # Webhook secrets, once they are exercised here: secrets.append(<the value used>)

    assert len(caplog.records) > 20  # the capture saw the session
    json_format, text_format = JsonFormatter(), TextFormatter()
    written = [
        text
        for record in caplog.records
        for text in (json_format.format(record), text_format.format(record), repr(record.args))
    ]
    leaks = [
        (shape[:12], line[:200])
        for secret in secrets
        for shape in _shapes(secret)
        for line in [*written, metrics]
        if shape in line
    ]
    assert leaks == []


def test_sql_statements_are_not_logged_even_at_debug(app):
    """Their parameters and rows hold hashes and token ids (see QUIET_LOGGERS)."""
    root = logging.getLogger()
    level = root.level
    handler = configure_logging(app, level="DEBUG", stream=io.StringIO())
    try:
        assert root.isEnabledFor(logging.DEBUG)
        assert not logging.getLogger("sqlalchemy.engine.Engine").isEnabledFor(logging.INFO)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_database_errors_do_not_quote_parameters(app):
    from sqlalchemy import text
    from sqlalchemy.exc import StatementError

    try:
        with db.engine.connect() as connection:
            connection.execute(
                text("SELECT * FROM no_such_table WHERE x = :secret"), {"secret": PASSWORD}
            )
    except StatementError as error:
        assert PASSWORD not in str(error)
    else:
        raise AssertionError("the statement should have failed")
