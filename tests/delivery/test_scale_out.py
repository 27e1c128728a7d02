"""Scale out: three gunicorn (gevent) workers share the idempotency memory in Redis.

Twenty concurrent requests with one idempotency key reach all three workers; the
SMTP server behind them (a real aiosmtpd, slowed down so that the requests overlap)
receives exactly one message, and every request answers that message's result.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.delivery.fakes import free_port
from tests.delivery.fakes.smtp_server import SmtpServer
from tests.delivery.test_redis_store import redis_or_skip
from tests.delivery_support import DELIVERY_AUTH, DELIVERY_TOKEN_ENV

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def gunicorn_delivery(log: Path, **env: str) -> Iterator[str]:
    """The delivery service under gunicorn with ``env``; yields its URL, stops it by PID."""
    port = free_port()
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DELIVERY_", "SMTP_", "EMAIL_", "SMS_", "PUSH_", "TWILIO_", "FCM_"))
    }
    environment |= {
        "DELIVERY_BIND": f"127.0.0.1:{port}",
        "DELIVERY_LOG_LEVEL": "warning",
        **DELIVERY_TOKEN_ENV,
        **env,
    }
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "delivery/gunicorn.conf.py"],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited with {process.returncode}:\n{log.read_text()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"the delivery service did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def test_twenty_concurrent_requests_on_one_key_send_one_email(tmp_path: Path) -> None:
    redis_url = redis_or_skip()
    smtp = SmtpServer(tmp_path, security="none", auth=False).start()
    smtp.handler.data_delay_s = 0.3  # long enough for all twenty to arrive while it is sent
    prefix = f"test-scale-out-{os.getpid()}-{time.monotonic_ns()}:"
    settings = {
        **smtp.settings(),
        "DELIVERY_WORKERS": "3",
        # A gevent worker stops accepting when its pool is full: with at most 7 requests
        # each, the twenty concurrent ones are spread over all three workers.
        "DELIVERY_WORKER_CONNECTIONS": "7",
        "DELIVERY_IDEMPOTENCY_URL": redis_url,
        "DELIVERY_IDEMPOTENCY_PREFIX": prefix,
    }
    body = {
        "channel": "email",
        "target": "someone@example.com",
        "title": "Once",
        "content": "Exactly once.",
        "idempotency_key": "ntf-1-v1",
    }
    try:
        with gunicorn_delivery(tmp_path / "gunicorn.log", **settings) as url:
            with ThreadPoolExecutor(20) as pool:
                answers = list(
                    pool.map(
                        lambda _: requests.post(
                            f"{url}/deliver", json=body, headers=DELIVERY_AUTH, timeout=30
                        ),
                        range(20),
                    )
                )
            stats = requests.get(f"{url}/stats", headers=DELIVERY_AUTH, timeout=5).json()
            requests.post(f"{url}/stats/reset", headers=DELIVERY_AUTH, timeout=5)
    finally:
        smtp.stop()

    assert [answer.status_code for answer in answers] == [200] * 20
    assert len({answer.json()["provider_message_id"] for answer in answers}) == 1
    assert len(smtp.received) == 1
    assert sum(answer.headers.get("Idempotent-Replayed") == "true" for answer in answers) == 19
    assert stats == {"sent": 1, "replays": 19, "requests": 20}
