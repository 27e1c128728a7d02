"""Swagger UI at /docs renders in a real headless Chromium, served entirely by the app.

The API runs for real (gunicorn on a free loopback port, SQLite file migrated with
`flask db upgrade`). Chromium is driven over the Chrome DevTools Protocol with
`websocket-client`: the Network domain records every request the page makes, so the
test proves that Swagger UI works offline (no CDN, no validator badge), not just that
/docs answers 200.

Without a Chromium binary the test skips, except when CI is set: there it fails, so a
missing browser can never hide a broken /docs page.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import websocket

from tests.live_server import running_api, stop, tail

ROOT = Path(__file__).resolve().parent.parent
RENDER_TIMEOUT_S = 20.0
STARTUP_TIMEOUT_S = 20.0

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-dev-shm-usage",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)

# What the page reports once Swagger UI has rendered (or not yet).
PAGE_STATE_JS = """JSON.stringify({
  opblocks: document.querySelectorAll('.opblock').length,
  paths: Array.from(document.querySelectorAll('.opblock-summary-path'))
    .map((e) => e.getAttribute('data-path') || e.textContent.trim()),
  authorize: document.querySelectorAll('.btn.authorize').length,
  closedTags: document.querySelectorAll('.opblock-tag-section:not(.is-open)').length,
  title: document.title,
})"""

# If the UI is configured with docExpansion "none", open every tag so operations render.
OPEN_TAGS_JS = """document.querySelectorAll('.opblock-tag-section:not(.is-open) .opblock-tag')
  .forEach((tag) => tag.click())"""


def _find_chromium() -> str | None:
    """CHROMIUM_BIN, else Debian's chromium, else a Chrome on PATH (CircleCI's images)."""
    candidates = [
        os.environ.get("CHROMIUM_BIN"),
        "/usr/bin/chromium",
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    for candidate in filter(None, candidates):
        found = shutil.which(candidate)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def live_api(tmp_path_factory) -> Iterator[str]:
    """The real API under gunicorn on 127.0.0.1, on a freshly migrated SQLite file."""
    with running_api(tmp_path_factory.mktemp("live-api"), RATELIMIT_STORAGE_URI="memory://") as url:
        yield url


class DevTools:
    """A minimal Chrome DevTools Protocol client over one page's websocket."""

    def __init__(self, ws_url: str) -> None:
        # No Origin header: Chromium refuses DevTools websockets from unlisted origins.
        self._ws = websocket.create_connection(ws_url, timeout=10, suppress_origin=True)
        self._next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, **params) -> dict:
        self._next_id += 1
        call_id = self._next_id
        self._ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def drain(self, quiet_s: float = 1.0) -> None:
        """Collect events until none arrived for `quiet_s` (late requests, errors)."""
        self._ws.settimeout(quiet_s)
        try:
            while True:
                message = json.loads(self._ws.recv())
                if "method" in message:
                    self.events.append(message)
        except websocket.WebSocketTimeoutException:
            pass
        finally:
            self._ws.settimeout(10)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._ws.close()


@pytest.fixture(scope="module")
def chromium(tmp_path_factory) -> Iterator[DevTools]:
    """Headless Chromium with a throwaway profile, attached to its first page."""
    binary = _find_chromium()
    if binary is None:
        reason = "no Chromium found (apt-get install chromium, or set CHROMIUM_BIN)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI is set, so this test must run")
        pytest.skip(reason)

    profile = tmp_path_factory.mktemp("chromium-profile")
    log_path = profile.parent / f"{profile.name}.log"
    with log_path.open("wb") as log:
        browser = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    devtools = None
    try:
        # With --remote-debugging-port=0 Chromium picks a port and writes it here.
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not (port_file.exists() and port_file.read_text().strip()):
            if browser.poll() is not None:
                pytest.fail(f"{binary} exited with {browser.returncode}:\n{tail(log_path)}")
            if time.monotonic() > deadline:
                pytest.fail(f"{binary} did not open DevTools in {STARTUP_TIMEOUT_S} s")
            time.sleep(0.1)
        debug_port = int(port_file.read_text().split()[0])
        targets = requests.get(f"http://127.0.0.1:{debug_port}/json/list", timeout=5).json()
        page = next(t for t in targets if t.get("type") == "page")
        devtools = DevTools(page["webSocketDebuggerUrl"])
        yield devtools
    finally:
        if devtools is not None:
            devtools.close()
        stop(browser)


def test_swagger_ui_renders_operations_offline(chromium: DevTools, live_api: str) -> None:
    """/docs shows the /notifications operations and the Authorize button, and every
    request the page makes goes to the API itself."""
    chromium.call("Network.enable")
    chromium.call("Runtime.enable")
    chromium.call("Page.enable")
    chromium.call("Page.navigate", url=f"{live_api}/docs")

    deadline = time.monotonic() + RENDER_TIMEOUT_S
    state: dict = {}
    while time.monotonic() < deadline:
        state = json.loads(chromium.evaluate(PAGE_STATE_JS) or "{}")
        if state.get("opblocks") and state.get("authorize"):
            break
        if state.get("closedTags"):
            chromium.evaluate(OPEN_TAGS_JS)
        time.sleep(0.25)
    chromium.drain()

    requested = [
        e["params"]["request"]["url"]
        for e in chromium.events
        if e["method"] == "Network.requestWillBeSent"
    ]
    # The browser asks for /favicon.ico on its own; the API has none, and that is fine.
    failed = [
        (e["params"]["response"]["url"], e["params"]["response"]["status"])
        for e in chromium.events
        if e["method"] == "Network.responseReceived"
        and e["params"]["response"]["status"] >= 400
        and not e["params"]["response"]["url"].endswith("/favicon.ico")
    ]
    exceptions = [
        e["params"]["exceptionDetails"].get("text", "")
        + " "
        + str(e["params"]["exceptionDetails"].get("exception", {}).get("description", ""))
        for e in chromium.events
        if e["method"] == "Runtime.exceptionThrown"
    ]

    assert state.get("opblocks", 0) > 0, f"Swagger UI rendered no operations: {state}"
    assert any(path.startswith("/notifications") for path in state["paths"]), state["paths"]
    assert state.get("authorize", 0) > 0, "no Authorize button (bearer security scheme missing?)"
    assert any(url.startswith(f"{live_api}/openapi.json") for url in requested), requested
    off_machine = [
        url
        for url in requested
        if not url.startswith(f"{live_api}/") and not url.startswith(("data:", "blob:"))
    ]
    assert off_machine == [], f"/docs made requests that leave the machine: {off_machine}"
    assert failed == [], f"/docs requests that failed: {failed}"
    assert exceptions == [], f"JavaScript errors on /docs: {exceptions}"
