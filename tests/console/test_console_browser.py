"""The console in a real headless Chromium, driven by Selenium, against the live stack.

The API runs under gunicorn (tests/live_server.py) on a freshly migrated SQLite file,
the real delivery service in a thread, and a real dispatcher (`flask --app wsgi worker`)
delivers through it, so a notification to the simulator's `reject@example.com` really
fails. The browser signs in, writes a template with the live preview, finds the sent
notifications in the activity list, opens the failed one to read why it failed, and
uploads a CSV file whose batch page follows the batch to done without a reload.

Without Chromium or chromedriver the test skips, except when CI is set: there it fails,
so a missing browser can never hide a broken console. With CONSOLE_SCREENSHOTS=1 it
writes the screenshots of the docs (docs/images/console-*.png).
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait
from werkzeug.serving import make_server

from bench.processes import Processes
from config import DeliveryConfig
from delivery import create_app as create_delivery_app
from tests.delivery_support import DELIVERY_TOKEN, DELIVERY_TOKEN_ENV
from tests.helpers import FAST_SHUTDOWN
from tests.live_server import running_api
from tests.test_docs_browser import _find_chromium

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "docs" / "images"
WAIT_S = 20
EMAIL, PASSWORD = "ada@example.com", "correct horse battery"
# The key tests/live_server.py gives the live API (the dispatcher shares its database).
LIVE_JWT_KEY = "live-test-signing-key-0123456789-abcdefghijkl"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,900",
)
REJECTED = "The provider rejected the target (simulated permanent rejection)."


def _find_chromedriver() -> str | None:
    for candidate in filter(None, (os.environ.get("CHROMEDRIVER_BIN"), "chromedriver")):
        found = shutil.which(candidate)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def delivery_url() -> Iterator[str]:
    """The real delivery service (simulator hooks on) on werkzeug in a thread."""
    config = type(
        "Config",
        (DeliveryConfig,),
        {
            "DELIVERY_SIMULATOR_HOOKS": True,
            "DELIVERY_FAILURE_RATE": 0.0,
            "DELIVERY_API_TOKEN": DELIVERY_TOKEN,
        },
    )
    server = make_server("127.0.0.1", 0, create_delivery_app(config), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs=FAST_SHUTDOWN, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def live_stack(tmp_path_factory, delivery_url) -> Iterator[str]:
    """The API under gunicorn and a dispatcher process, on one SQLite file."""
    workdir = tmp_path_factory.mktemp("console-live")
    env = {
        "RATELIMIT_STORAGE_URI": "memory://",
        "DELIVERY_SERVICE_URL": delivery_url,
        **DELIVERY_TOKEN_ENV,
    }
    with running_api(workdir, **env) as base_url, Processes() as processes:
        worker_env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DELIVERY_", "FLASK_", "DATABASE_URL"))
        }
        worker_env |= env | {
            "DATABASE_URL": f"sqlite:///{workdir / 'api.db'}",
            "JWT_SECRET_KEY": LIVE_JWT_KEY,
            "DELIVERY_POLL_INTERVAL_S": "0.2",
        }
        processes.start(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
            worker_env,
            name="dispatcher",
            log_path=workdir / "worker.log",
            cwd=ROOT,
        )
        yield base_url


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    """Headless Chromium through chromedriver, with a fresh profile."""
    binary, chromedriver = _find_chromium(), _find_chromedriver()
    if binary is None or chromedriver is None:
        reason = "no Chromium or chromedriver (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI is set, so this test must run")
        pytest.skip(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('console-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(
        options=options, service=webdriver.ChromeService(executable_path=chromedriver)
    )
    try:
        yield browser
    finally:
        browser.quit()


def _screenshot(driver, name: str) -> None:
    if os.environ.get("CONSOLE_SCREENSHOTS") == "1":
        IMAGES.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(IMAGES / f"console-{name}.png"))


def _api_headers(base_url: str) -> dict:
    created = requests.post(
        f"{base_url}/users",
        json={"name": "Ada", "email": EMAIL, "password": PASSWORD},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    tokens = requests.post(
        f"{base_url}/auth/login", json={"email": EMAIL, "password": PASSWORD}, timeout=10
    ).json()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def _send(base_url: str, headers: dict, body: dict) -> int:
    response = requests.post(f"{base_url}/notifications", headers=headers, json=body, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _wait_for_status(base_url: str, headers: dict, notification_id: int, status: str) -> None:
    deadline = time.monotonic() + WAIT_S
    body: dict = {}
    while time.monotonic() < deadline:
        url = f"{base_url}/notifications/{notification_id}"
        body = requests.get(url, headers=headers, timeout=10).json()
        if body["status"] == status:
            return
        time.sleep(0.2)
    pytest.fail(f"notification {notification_id} never became {status}: {body}")


def _sign_in(driver, wait, base_url: str) -> None:
    driver.get(f"{base_url}/console/notifications")
    wait.until(expected_conditions.url_contains("/console/login"))
    driver.find_element(By.ID, "email").send_keys(EMAIL)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    wait.until(expected_conditions.url_matches(r"/console/notifications$"))
    wait.until(lambda browser: browser.execute_script("return document.readyState") == "complete")


def _open(driver, wait, url: str, element_id: str, tries: int = 3) -> None:
    """Load a page and wait for one of its elements; fail with what the page showed.

    On a loaded machine the browser once dropped a navigation asked for while the
    previous page was still settling (it stayed on that page): ask again.
    """
    for _ in range(tries):
        driver.get(url)
        try:
            wait.until(expected_conditions.presence_of_element_located((By.ID, element_id)))
            return
        except TimeoutException:
            continue
    pytest.fail(f"{url} has no #{element_id}: {driver.current_url}\n{driver.page_source[:3000]}")


def _template_with_live_preview(driver, wait, base_url: str) -> int:
    _open(driver, wait, f"{base_url}/console/templates", "name")
    driver.find_element(By.ID, "name").send_keys("Welcome")
    driver.find_element(By.ID, "title").send_keys("Welcome, {{ name }}")
    driver.find_element(By.ID, "content").send_keys("Hello {{ name }}, your code is {{ code }}.")
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait.until(expected_conditions.url_matches(r"/console/templates/\d+$"))
    values = driver.find_element(By.ID, "personalisation")
    values.clear()
    values.send_keys('{"name": "Ann", "code": 4711}')
    wait.until(
        expected_conditions.text_to_be_present_in_element(
            (By.ID, "preview-content"), "Hello Ann, your code is 4711."
        )
    )
    assert driver.find_element(By.ID, "preview-title").text == "Welcome, Ann"
    return int(driver.current_url.rsplit("/", 1)[1])


def test_sign_in_write_a_template_send_read_why_one_failed_and_follow_a_batch(
    driver, live_stack, tmp_path
):
    base_url = live_stack
    headers = _api_headers(base_url)
    wait = WebDriverWait(driver, WAIT_S)

    _sign_in(driver, wait, base_url)
    template_id = _template_with_live_preview(driver, wait, base_url)

    # Two sends through the API: one delivered, one the simulator rejects.
    values = {"name": "Ann", "code": 4711}
    template = {"template_id": template_id, "personalisation": values}
    sent = _send(base_url, headers, template | {"target": "ann@example.com"})
    plain = {"title": "Receipt", "content": "Thanks", "channel": "email"}
    failed = _send(base_url, headers, plain | {"target": "reject@example.com"})
    _wait_for_status(base_url, headers, sent, "sent")
    _wait_for_status(base_url, headers, failed, "failed")

    # The activity list shows both, newest first.
    driver.get(f"{base_url}/console/notifications")
    rows = driver.find_elements(By.CSS_SELECTOR, "table.list tbody tr")
    links = [row.find_element(By.TAG_NAME, "a") for row in rows]
    assert [link.text for link in links] == [f"#{failed}", f"#{sent}"]
    assert "Welcome, Ann" in rows[1].text
    _screenshot(driver, "activity")

    # The failed one, opened from the list: why it failed, in its timeline.
    links[0].click()
    wait.until(expected_conditions.url_matches(rf"/console/notifications/{failed}$"))
    assert driver.find_element(By.CSS_SELECTOR, ".facts .why").text == REJECTED
    timeline = driver.find_element(By.CSS_SELECTOR, "ol.timeline").text
    assert "Attempt 1: rejected · HTTP 422" in timeline
    assert REJECTED in timeline
    _screenshot(driver, "timeline")

    # The overview counts them and draws them.
    driver.get(f"{base_url}/console")
    assert driver.find_element(By.CSS_SELECTOR, "a[href$='status=failed']").text == "1"
    assert driver.find_elements(By.CSS_SELECTOR, "svg.chart rect")
    _screenshot(driver, "overview")

    # A CSV file uploaded on the batches page: the batch's page follows it to done in
    # place (its script polls the progress endpoint; the page is never reloaded).
    csv_file = tmp_path / "people.csv"
    csv_file.write_text("target,name,code\nann@example.com,Ann,1\nbob@example.com,Bob,2\n")
    _open(driver, wait, f"{base_url}/console/batches", "file")
    Select(driver.find_element(By.ID, "template_id")).select_by_value(str(template_id))
    driver.find_element(By.ID, "file").send_keys(str(csv_file))
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait.until(expected_conditions.url_matches(r"/console/batches/\d+$"))
    driver.execute_script("document.body.setAttribute('data-loaded-once', 'yes')")
    wait.until(
        expected_conditions.text_to_be_present_in_element(
            (By.CSS_SELECTOR, '[data-field="status"]'), "done"
        )
    )
    assert driver.find_element(By.CSS_SELECTOR, '[data-count="sent"]').text == "2"
    assert driver.find_element(By.ID, "batch-bar").get_attribute("value") == "2"
    assert driver.find_element(By.TAG_NAME, "body").get_attribute("data-loaded-once") == "yes"

    # No page broke its Content-Security-Policy or logged a script error.
    errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
