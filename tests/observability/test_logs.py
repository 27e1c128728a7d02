"""Log lines: JSON with `LOG_FORMAT=json`, readable text by default, and the id of the
request or notification they are about."""

from __future__ import annotations

import io
import json
import logging

import pytest

from notifier.observability.logs import configure_logging, notification_context


@pytest.fixture
def output():
    """Our handler on the root logger, writing to a buffer; removed afterwards."""
    root = logging.getLogger()
    level = root.level
    buffers = []

    def _configure(log_format: str) -> io.StringIO:
        buffer = io.StringIO()
        buffers.append(configure_logging(None, log_format=log_format, stream=buffer))
        return buffer

    yield _configure
    for handler in buffers:
        root.removeHandler(handler)
    root.setLevel(level)


def lines(buffer: io.StringIO) -> list[str]:
    return buffer.getvalue().splitlines()


def test_json_lines_carry_the_request_id(app, output):
    buffer = output("json")
    with app.test_request_context("/health", headers={"X-Request-ID": "req-json-1"}):
        app.preprocess_request()
        logging.getLogger("notifier.probe").warning("inside %s", "a request")
    logging.getLogger("notifier.probe").warning("after it")

    inside, after = (json.loads(line) for line in lines(buffer))
    assert set(inside) == {"time", "level", "logger", "message", "request_id"}
    assert inside["request_id"] == "req-json-1"
    assert (inside["level"], inside["logger"]) == ("WARNING", "notifier.probe")
    assert inside["message"] == "inside a request"
    assert inside["time"].endswith("+00:00")
    assert "request_id" not in after


def test_json_lines_carry_the_notification_id_and_exceptions(output):
    buffer = output("json")
    with notification_context(42):
        try:
            raise ValueError("no")
        except ValueError:
            logging.getLogger("notifier.worker").exception("failed")

    [line] = lines(buffer)
    record = json.loads(line)
    assert record["notification_id"] == 42
    assert "ValueError: no" in record["exc_info"]


def test_text_is_the_default_and_readable(app, output):
    buffer = output("text")
    with app.test_request_context("/health", headers={"X-Request-ID": "req-text-1"}):
        app.preprocess_request()
        logging.getLogger("notifier.probe").info("hello")
    with notification_context(7):
        logging.getLogger("notifier.worker").info("sending")

    first, second = lines(buffer)
    assert " INFO " in first and "notifier.probe: hello" in first
    assert first.endswith("[request_id=req-text-1]")
    assert second.endswith("[notification_id=7]")


def test_an_unknown_format_is_refused(output):
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        output("xml")
