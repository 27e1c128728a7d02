"""Under gunicorn with two workers: `/metrics` sums both workers' counts, the
multiprocess directory is prepared and removed by `gunicorn.conf.py`, and with
`LOG_FORMAT=json` every line the server writes is one JSON object, with no unsubscribe
token in it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests

from tests.live_server import running_api
from tests.observability.scrape import samples, value

TOKEN = "live-metrics-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
REQUESTS = 300

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("gunicorn-metrics")
    multiproc = workdir / "multiproc"
    multiproc.mkdir()
    (multiproc / "counter_1.db").write_bytes(b"left by an earlier run")
    with running_api(
        workdir,
        workers=2,
        METRICS_TOKEN=TOKEN,
        PROMETHEUS_MULTIPROC_DIR=str(multiproc),
        LOG_FORMAT="json",
        GUNICORN_ACCESSLOG="-",
    ) as base_url:
        yield base_url, workdir, multiproc


def test_the_counts_of_both_workers_are_summed(served):
    base_url, _, multiproc = served
    with requests.Session() as first, requests.Session() as second:
        for number in range(REQUESTS):
            session = first if number % 2 else second
            response = session.get(f"{base_url}/notifications/{number + 1}", timeout=10)
            assert response.status_code == 401
    response = requests.get(f"{base_url}/metrics", headers=AUTH, timeout=10)
    assert response.status_code == 200
    found = samples(response.text)

    labels = {"method": "GET", "route": "/notifications/<id>", "status": "401"}
    assert value(found, "notifier_http_requests_total", **labels) == REQUESTS
    histogram = {"method": "GET", "route": "/notifications/<id>"}
    assert value(found, "notifier_http_request_duration_seconds_count", **histogram) == REQUESTS
    written_by = {path.name for path in multiproc.glob("counter_*.db")}
    assert "counter_1.db" not in written_by  # an earlier run's file was cleared at start
    assert len(written_by) == 2, f"both workers should have counted: {sorted(written_by)}"


def test_without_the_token_it_is_401(served):
    base_url, _, _ = served
    assert requests.get(f"{base_url}/metrics", timeout=10).status_code == 401


def test_every_line_is_json_and_access_lines_carry_the_request_id(served):
    base_url, workdir, _ = served
    response = requests.get(
        f"{base_url}/health", headers={"X-Request-ID": "live-json-1"}, timeout=10
    )
    assert response.headers["X-Request-ID"] == "live-json-1"
    log = Path(workdir / "gunicorn.log")
    for _ in range(50):  # the access line is written just after the answer is sent
        text = log.read_text()
        if "live-json-1" in text:
            break
        time.sleep(0.1)
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert records, "gunicorn wrote nothing"
    assert all({"time", "level", "logger", "message"} <= set(record) for record in records)
    assert any(record["message"].startswith("Booting worker") for record in records)
    access = [record for record in records if record.get("request_id") == "live-json-1"]
    assert [record["logger"] for record in access] == ["gunicorn.access"]


def test_access_lines_never_hold_an_unsubscribe_token(served):
    base_url, workdir, _ = served
    secret = "WzEsImVtYWlsIiwiYUBleGFtcGxlLmNvbSIsZmFsc2Vd.sEcReTsIgNaTuRe"
    page = f"{base_url}/unsubscribe/{secret}"
    requests.get(f"{page}?from=mail", headers={"X-Request-ID": "live-unsub-1"}, timeout=10)
    requests.post(page, headers={"Referer": page, "X-Request-ID": "live-unsub-2"}, timeout=10)
    log = Path(workdir / "gunicorn.log")
    for _ in range(50):
        text = log.read_text()
        if "live-unsub-2" in text:
            break
        time.sleep(0.1)
    lines = [line for line in text.splitlines() if "live-unsub-" in line]
    assert len(lines) == 2
    assert secret not in text
    assert "/unsubscribe/[token]?from=mail" in lines[0]
