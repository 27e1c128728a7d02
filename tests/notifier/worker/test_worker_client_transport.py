"""DeliveryClient's connections: one pool shared by the sender threads, and proxies.

Observed from the stand-in delivery service's side of a real socket (which connection
each request came on, what its request line said), not from the client's internals.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench.processes import free_port
from notifier.worker.client import DeliveryClient, DeliveryRequest
from tests.notifier.worker.conftest import DELIVER, sent_answer
from tests.notifier.worker.fake_delivery import FakeDelivery

REQUEST = DeliveryRequest(1, "k" * 32, "email", "ada@example.com", "Hi", "Hello")
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def no_proxy_settings(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def _hold_until(mocked: FakeDelivery, arrived: int) -> threading.Event:
    """Answer "sent" once `arrived` requests are in flight together; the event says they were."""
    together = threading.Event()
    barrier = threading.Barrier(arrived)

    def answer(_request):
        try:
            barrier.wait(timeout=3)
            together.set()
        except threading.BrokenBarrierError:
            pass
        return 200, {"Content-Type": "application/json"}, '{"provider_message_id": "p"}'

    mocked.add_callback("POST", DELIVER, callback=answer)
    return together


def _send_at_once(client: DeliveryClient, count: int) -> list[str]:
    with ThreadPoolExecutor(count) as senders:
        return [result.outcome for result in senders.map(client.deliver, [REQUEST] * count)]


def test_one_connection_is_kept_alive_between_requests(mocked):
    mocked.post(DELIVER, json=sent_answer())
    client = DeliveryClient(mocked.url, timeout_s=1.0, pool_size=4)
    client.deliver(REQUEST)
    client.deliver(REQUEST)
    client.close()
    assert len({call.request.client_port for call in mocked.calls}) == 1


def test_threads_beyond_the_pool_do_not_wait_and_only_the_pool_is_kept(mocked):
    client = DeliveryClient(mocked.url, timeout_s=5.0, pool_size=2)
    first_round = _hold_until(mocked, 4)
    assert _send_at_once(client, 4) == ["sent"] * 4
    assert first_round.is_set()  # four in flight at once, with a pool of two
    first_ports = {call.request.client_port for call in mocked.calls}

    mocked.reset()
    _hold_until(mocked, 4)
    assert _send_at_once(client, 4) == ["sent"] * 4
    client.close()
    second_ports = {call.request.client_port for call in mocked.calls}
    assert len(first_ports) == len(second_ports) == 4
    assert len(first_ports & second_ports) == 2  # the two connections the pool kept


@pytest.fixture
def client_with_defaults(mocked):
    mocked.post(DELIVER, json=sent_answer())
    client = DeliveryClient(mocked.url, timeout_s=1.0)
    yield client, mocked
    client.close()


def test_the_dispatcher_introduces_itself(client_with_defaults):
    client, mocked = client_with_defaults
    client.deliver(REQUEST)
    assert mocked.calls[0].request.headers["User-Agent"] == "notifier-dispatcher"


def test_a_proxy_from_the_environment_carries_the_request(mocked, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", mocked.url)  # the stand-in plays the proxy
    mocked.post(DELIVER, json=sent_answer())
    client = DeliveryClient("http://delivery.invalid", timeout_s=1.0)
    result = client.deliver(REQUEST)
    client.close()
    assert result.outcome == "sent"
    assert mocked.calls[0].request.target == "http://delivery.invalid/deliver"


def test_no_proxy_sends_straight_to_the_delivery_service(mocked, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")  # nobody there
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    mocked.post(DELIVER, json=sent_answer())
    client = DeliveryClient(mocked.url, timeout_s=1.0)
    assert client.deliver(REQUEST).outcome == "sent"
    client.close()
    assert mocked.calls[0].request.target == "/deliver"


def test_proxy_settings_are_read_once_when_the_client_is_made(mocked, monkeypatch):
    mocked.post(DELIVER, json=sent_answer())
    client = DeliveryClient(mocked.url, timeout_s=1.0)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")  # nobody there
    assert client.deliver(REQUEST).outcome == "sent"
    client.close()
