"""The compose stack's unsubscribe links work out of the box, and only a PUBLIC_BASE_URL the
user sets reaches the delivery service (whose Twilio provider asks Twilio to call it back)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
# Compose's `${NAME:-default}`: the value when NAME is unset or empty.
INTERPOLATION = re.compile(r"^\$\{(?P<name>\w+):-(?P<default>[^}]*)\}$")


def public_base_url(service: str) -> tuple[str, str]:
    """The variable a service's PUBLIC_BASE_URL is read from, and its default."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    value = compose["services"][service]["environment"]["PUBLIC_BASE_URL"]
    match = INTERPOLATION.match(value)
    assert match, f"{service}: {value!r} is not ${{NAME:-default}}"
    return match["name"], match["default"]


def test_the_api_and_worker_link_to_the_proxys_default_port_unless_the_user_sets_one() -> None:
    assert public_base_url("api") == ("PUBLIC_BASE_URL", "http://localhost:8000")
    assert public_base_url("worker") == ("PUBLIC_BASE_URL", "http://localhost:8000")


def test_the_delivery_service_gets_only_the_users_setting() -> None:
    assert public_base_url("delivery") == ("PUBLIC_BASE_URL", "")


def test_the_default_is_the_port_the_proxy_publishes() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    published = [str(port) for port in compose["services"]["proxy"]["ports"]]
    assert any(port.startswith("${API_HOST_PORT:-8000}:") for port in published), published
