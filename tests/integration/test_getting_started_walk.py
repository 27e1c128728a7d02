"""The curl walk of docs/getting-started.md, pasted into bash against a real stack.

The stack is what `./up_dev.sh --local` runs (the API under gunicorn, the delivery
service, a worker process, the demo seed first, so low ids are already taken), with the
two webhook settings the page tells you to export, and the page's own webhook receiver.
The walk must reach "status: sent", show the attempt, and deliver the webhook.test event.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from bench.processes import free_port, start
from tests.delivery_support import DELIVERY_TOKEN_ENV
from tests.live_server import running_api

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "getting-started.md"
LOCAL_WEBHOOKS = {"WEBHOOK_ALLOW_HTTP": "1", "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1"}


def _blocks(fence: str) -> list[str]:
    return re.findall(rf"```{fence}\n(.*?)```", PAGE.read_text(), re.DOTALL)


def test_the_getting_started_walk_works_as_written(tmp_path, delivery):
    shell = _blocks("sh")
    walk = next(block for block in shell if "# 1. Register" in block)
    webhook = next(block for block in shell if "# 7. Be called back" in block)
    receiver_script = next(block for block in shell if "HTTPServer" in block)
    receiver_port = free_port()

    with running_api(tmp_path, DELIVERY_SERVICE_URL=delivery.url, **LOCAL_WEBHOOKS) as api:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'api.db'}",
            "JWT_SECRET_KEY": "live-test-signing-key-0123456789-abcdefghijkl",
            "DELIVERY_SERVICE_URL": delivery.url,
            **DELIVERY_TOKEN_ENV,
            **LOCAL_WEBHOOKS,
        }
        env.pop("FLASK_DEBUG", None)
        seed = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "seed"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert seed.returncode == 0, seed.stderr
        worker = start(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
            env, name="worker", log_path=tmp_path / "worker.log",
        )  # fmt: skip
        receiver = start(
            ["bash", "-c", receiver_script.replace("9000", str(receiver_port))],
            {**os.environ, "PYTHONUNBUFFERED": "1"},
            name="receiver", log_path=tmp_path / "receiver.log",
        )  # fmt: skip
        try:
            script = (walk + webhook).replace("http://localhost:8000", api)
            script = script.replace("127.0.0.1:9000", f"127.0.0.1:{receiver_port}")
            result = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", script],
                env={"PATH": os.environ["PATH"]}, capture_output=True, text=True,
                timeout=120, check=False,
            )  # fmt: skip
            assert result.returncode == 0, result.stdout + result.stderr
            assert "status: sent" in result.stdout
            sent_list, attempts = _json_lines_after(result.stdout, "status: sent")[:2]
            assert '"status":"sent"' in sent_list
            assert '"outcome":"sent"' in attempts
            received = tmp_path / "receiver.log"
            deadline = time.monotonic() + 30
            while '"type":"webhook.test"' not in received.read_text():
                assert time.monotonic() < deadline, received.read_text()
                time.sleep(0.2)
        finally:
            receiver.stop()
            worker.stop()


def _json_lines_after(output: str, marker: str) -> list[str]:
    """The JSON lines printed after `marker` (the list of sent notifications, the attempts)."""
    after = output.split(marker, 1)[1]
    return [line for line in after.splitlines() if line.startswith(("[", "{"))]
