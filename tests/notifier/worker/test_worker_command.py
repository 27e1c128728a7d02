"""`flask worker`: options, `--once`, and the signal handlers it installs."""

from __future__ import annotations

import logging
import signal

import pytest

from notifier.worker.runner import Dispatcher
from tests.factories import NotificationFactory
from tests.notifier.worker.conftest import reload, sent_answer


@pytest.fixture(autouse=True)
def _restore_process_state():
    """The command installs signal handlers and sets log levels: put them back."""
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    level = logging.getLogger("notifier").level
    yield
    for sig, handler in handlers.items():
        signal.signal(sig, handler)
    logging.getLogger("notifier").setLevel(level)


def test_once_delivers_what_is_due_and_exits_0(app, mocked, monkeypatch):
    ids = [NotificationFactory().id for _ in range(3)]
    monkeypatch.setitem(app.config, "DELIVERY_SERVICE_URL", mocked.url)
    mocked.post(f"{mocked.url}/deliver", json=sent_answer())

    result = app.test_cli_runner().invoke(args=["worker", "--once"])

    assert result.exit_code == 0, result.output
    assert {reload(nid).status for nid in ids} == {"sent"}


def test_without_a_delivery_token_the_worker_warns_at_start(app, monkeypatch, caplog):
    monkeypatch.setattr(Dispatcher, "run", lambda self, once=False: None)
    monkeypatch.setitem(app.config, "DELIVERY_API_TOKEN", "")
    with caplog.at_level(logging.WARNING, logger="notifier.worker"):
        result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "DELIVERY_API_TOKEN is not set" in caplog.text


def test_with_a_delivery_token_the_worker_sends_it_and_does_not_warn(
    app, mocked, caplog, monkeypatch
):
    NotificationFactory()
    monkeypatch.setitem(app.config, "DELIVERY_SERVICE_URL", mocked.url)
    mocked.post(f"{mocked.url}/deliver", json=sent_answer())
    with caplog.at_level(logging.WARNING, logger="notifier.worker"):
        result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "DELIVERY_API_TOKEN" not in caplog.text
    token = app.config["DELIVERY_API_TOKEN"]
    assert mocked.calls[0].request.headers["Authorization"] == f"Bearer {token}"


def test_options_override_the_config(app, monkeypatch):
    seen = {}

    def fake_run(self, once=False):
        seen.update(settings=self.settings, once=once)
        seen["handler"] = signal.getsignal(signal.SIGTERM)

    monkeypatch.setattr(Dispatcher, "run", fake_run)
    result = app.test_cli_runner().invoke(
        args=["worker", "--concurrency", "7", "--batch-size", "11", "--poll-interval", "0.5"]
    )

    assert result.exit_code == 0, result.output
    settings = seen["settings"]
    assert (settings.concurrency, settings.batch_size, settings.poll_interval_s) == (7, 11, 0.5)
    assert settings.service_url == app.config["DELIVERY_SERVICE_URL"]
    assert seen["once"] is False
    assert callable(seen["handler"]) and seen["handler"] is not signal.SIG_DFL


def test_a_signal_stops_the_dispatcher(app, monkeypatch):
    stopped = []

    def fake_run(self, once=False):
        signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None)
        stopped.append(self.stopping)

    monkeypatch.setattr(Dispatcher, "run", fake_run)
    result = app.test_cli_runner().invoke(args=["worker"])
    assert result.exit_code == 0, result.output
    assert stopped == [True]
    # A second SIGTERM would now end the process at once.
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


@pytest.mark.parametrize("option", ["--concurrency=0", "--batch-size=0", "--poll-interval=0"])
def test_nonsense_options_are_refused(app, option):
    result = app.test_cli_runner().invoke(args=["worker", option])
    assert result.exit_code == 2


def test_the_worker_serves_its_metrics_while_it_runs(app, monkeypatch):
    from datetime import timedelta

    import requests

    from notifier.database import utcnow
    from tests.live_server import free_port
    from tests.observability.scrape import AUTH, samples, value

    for seconds in (90, 10):
        NotificationFactory(next_attempt_at=utcnow() - timedelta(seconds=seconds))
    port = free_port()
    monkeypatch.setitem(app.config, "WORKER_METRICS_PORT", port)
    monkeypatch.setitem(app.config, "WORKER_METRICS_HOST", "127.0.0.1")
    scraped = []

    def fake_run(self, once=False):
        url = f"http://127.0.0.1:{port}/metrics"
        scraped.append(requests.get(url, timeout=5).status_code)
        scraped.append(requests.get(url, headers=AUTH, timeout=5))

    monkeypatch.setattr(Dispatcher, "run", fake_run)
    result = app.test_cli_runner().invoke(args=["worker"])

    assert result.exit_code == 0, result.output
    unauthorized, response = scraped
    assert unauthorized == 401
    assert response.status_code == 200
    found = samples(response.text)
    assert value(found, "notifier_notifications_due") == 2
    assert value(found, "notifier_oldest_due_seconds") >= 90
    with pytest.raises(requests.ConnectionError):  # stopped with the command
        requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
