"""`GET /metrics` on the delivery service: `delivery_requests_total` by channel, provider
and outcome, behind the same token."""

from __future__ import annotations

from config import DeliveryConfig
from tests.delivery_support import delivery_app
from tests.observability.scrape import AUTH, samples, value

REQUESTS = "delivery_requests_total"


def scrape(client) -> dict:
    response = client.get("/metrics", headers=AUTH)
    assert response.status_code == 200
    return samples(response.get_data(as_text=True))


def test_without_a_token_the_delivery_service_has_no_metrics():
    class Plain(DeliveryConfig):
        TESTING = True
        METRICS_TOKEN = ""

    assert delivery_app(Plain).test_client().get("/metrics", headers=AUTH).status_code == 404


def test_a_wrong_token_is_401(delivery_client):
    response = delivery_client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.get_json()["status"] == "Unauthorized"


def test_answers_are_counted_by_outcome(delivery_client):
    before = scrape(delivery_client)
    email = {"channel": "email", "title": "Hi", "content": "Hello"}
    for target in ("a@example.com", "b@example.com", "reject@example.com", "unavailable@x.com"):
        delivery_client.post("/deliver", json={**email, "target": target})
    sms = {"channel": "sms", "target": "+14155552671", "content": "x"}
    delivery_client.post("/deliver", json=sms)
    after = scrape(delivery_client)

    def delta(channel: str, outcome: str) -> float:
        labels = {"channel": channel, "provider": "simulator", "outcome": outcome}
        return value(after, REQUESTS, **labels) - value(before, REQUESTS, **labels)

    assert delta("email", "sent") == 2
    assert delta("email", "rejected") == 1
    assert delta("email", "unavailable") == 1
    assert delta("sms", "sent") == 1
    assert not any(name.startswith("notifier_") for name, _ in after)
