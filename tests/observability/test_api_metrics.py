"""`GET /metrics` on the API: the token, the series after requests, bounded labels."""

from __future__ import annotations

import pytest
from flask import Flask

from notifier.observability.hooks import init_app_metrics, route_label
from tests.observability.scrape import AUTH, TOKEN, samples, series, value

REQUESTS = "notifier_http_requests_total"
DURATION = "notifier_http_request_duration_seconds"


def scrape(client) -> dict:
    response = client.get("/metrics", headers=AUTH)
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=0.0.4")
    return samples(response.get_data(as_text=True))


def test_without_a_configured_token_there_is_no_metrics_route():
    app = Flask("probe")
    app.config["METRICS_TOKEN"] = ""
    assert init_app_metrics(app) is False
    assert app.test_client().get("/metrics", headers=AUTH).status_code == 404
    assert app.before_request_funcs == {} and app.after_request_funcs == {}


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer wrong-token",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        f"Basic {TOKEN}",
        TOKEN,
        "Bearer tést",
    ],
)
def test_a_missing_or_wrong_token_is_401_in_the_error_shape(client, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.get_json() == {
        "code": 401,
        "status": "Unauthorized",
        "message": response.get_json()["message"],
    }
    assert response.get_json()["message"]
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert TOKEN not in response.get_data(as_text=True)


def test_the_scheme_is_case_insensitive(client):
    assert client.get("/metrics", headers={"Authorization": f"bearer {TOKEN}"}).status_code == 200


def test_requests_are_counted_by_method_rule_and_status(api, client):
    before = scrape(client)
    created = api.create().get_json()
    api.get(f"/notifications/{created['id']}")
    api.get("/notifications/999999", expect=404)
    client.get("/no/such/route")
    after = scrape(client)

    def delta(**labels):
        return value(after, REQUESTS, **labels) - value(before, REQUESTS, **labels)

    assert delta(method="POST", route="/notifications", status="201") == 1
    assert delta(method="GET", route="/notifications/<id>", status="200") == 1
    assert delta(method="GET", route="/notifications/<id>", status="404") == 1
    assert delta(method="GET", route="unmatched", status="404") == 1
    count = f"{DURATION}_count"
    labels = {"method": "GET", "route": "/notifications/<id>"}
    assert value(after, count, **labels) - value(before, count, **labels) == 2
    assert value(after, f"{DURATION}_sum", **labels) > value(before, f"{DURATION}_sum", **labels)
    assert value(after, f"{DURATION}_bucket", le="+Inf", **labels) == value(after, count, **labels)


def test_a_thousand_ids_do_not_add_series(api, client):
    """The label is the URL rule: the number of series stays where it was."""
    for notification_id in range(1, 11):
        api.get(f"/notifications/{notification_id}", expect=404)
        api.delete(f"/notifications/{notification_id}", expect=404)
        client.get(f"/unknown/{notification_id}")
    scrape(client)  # the scrape itself is counted from the next one on
    before = scrape(client)
    for notification_id in range(1_000, 2_000):
        api.get(f"/notifications/{notification_id}", expect=404)
        api.delete(f"/notifications/{notification_id}", expect=404)
        client.get(f"/unknown/{notification_id}")
    after = scrape(client)

    assert len(after) == len(before)
    routes = {labels["route"] for labels in series(after, REQUESTS)}
    assert not any(any(char.isdigit() for char in route) for route in routes), routes
    labels = {"method": "GET", "route": "/notifications/<id>", "status": "404"}
    assert value(after, REQUESTS, **labels) - value(before, REQUESTS, **labels) == 1_000
    labels = {"method": "GET", "route": "unmatched", "status": "404"}
    assert value(after, REQUESTS, **labels) - value(before, REQUESTS, **labels) == 1_000


def test_unusual_methods_share_one_label(client):
    for method in ("BREW", "PROPFIND", "X-CUSTOM"):
        client.open("/health", method=method)
    found = scrape(client)
    methods = {labels["method"] for labels in series(found, REQUESTS)}
    assert "OTHER" in methods
    assert not methods & {"BREW", "PROPFIND", "X-CUSTOM"}


@pytest.mark.parametrize(
    ("rule", "label"),
    [
        ("/notifications/<id:notification_id>", "/notifications/<id>"),
        ("/notifications/<id:notification_id>/attempts", "/notifications/<id>/attempts"),
        ("/docs/assets/<path:filename>", "/docs/assets/<path>"),
        ("/things/<name>", "/things/<name>"),
        ("/a/<int(min=1):x>/b/<y>", "/a/<int>/b/<y>"),
        ("/users/me", "/users/me"),
    ],
)
def test_route_labels_name_the_rule_not_the_values(rule, label):
    assert route_label(rule) == label
