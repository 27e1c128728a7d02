"""The SSRF guard: every class of address refused, public ones allowed, at registration."""

from __future__ import annotations

import ipaddress

import pytest

from notifier.webhooks import ssrf
from tests.webhook_support import make_webhook

REFUSED = {
    "loopback": ["127.0.0.1", "127.255.0.9", "::1"],
    "private": ["10.1.2.3", "172.16.0.1", "192.168.1.1", "fc00::1", "fd12:3456::1"],
    "link-local": ["169.254.169.254", "169.254.0.1", "fe80::1"],
    "site-local": ["fec0::1", "fed0::1", "feff:ffff::1"],
    "multicast": ["224.0.0.1", "239.1.2.3", "ff02::1", "ff0e::1"],
    "reserved": ["240.0.0.1", "255.255.255.255"],
    "unspecified": ["0.0.0.0", "::"],  # noqa: S104 (refused, not bound)
    "not public": ["100.64.0.1", "192.0.2.1", "198.18.0.1", "2001:db8::1"],
    "IPv4-mapped": ["::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1"],
    "IPv4 inside IPv6": ["64:ff9b::7f00:1", "2002:7f00:1::1", "2002:a00:1::1"],
}
ALLOWED = ["8.8.8.8", "93.184.215.14", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize(
    "address", [address for addresses in REFUSED.values() for address in addresses]
)
def test_internal_addresses_are_refused(address):
    assert ssrf.reason_refused(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address):
    assert ssrf.reason_refused(ipaddress.ip_address(address)) is None


def test_a_site_local_webhook_url_is_refused_at_registration(api):
    response = make_webhook(api, expect=422, url="https://[fec0::1]/hook")
    assert "site-local" in response.get_json()["errors"]["json"]["url"][0]


def test_the_reason_names_the_class():
    assert ssrf.reason_refused(ipaddress.ip_address("::ffff:127.0.0.1")) == "a loopback address"
    assert ssrf.reason_refused(ipaddress.ip_address("169.254.169.254")) == "a link-local address"


def test_a_host_is_refused_when_any_of_its_addresses_is():
    addresses = [ipaddress.ip_address("8.8.8.8"), ipaddress.ip_address("10.0.0.1")]
    with pytest.raises(ssrf.AddressRefused, match="private"):
        ssrf.check_addresses("mixed.example", addresses)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "[::1]",
        "169.254.169.254",
        "10.0.0.8",
        "[fe80::1]",
        "224.0.0.1",
        "0.0.0.0",  # noqa: S104 (refused, not bound)
        "[::ffff:127.0.0.1]",
        "[::ffff:a9fe:a9fe]",
        "2130706433",  # 127.0.0.1 as one number: a name that resolves to loopback
        "localhost",
        "LOCALHOST.",
    ],
)
def test_registration_refuses_internal_hosts(api, host):
    response = make_webhook(api, expect=422, url=f"https://{host}/hook")
    assert "public" in response.get_json()["errors"]["json"]["url"][0]


def test_registration_accepts_internal_hosts_when_allowed(api, webhook_settings):
    webhook_settings(WEBHOOK_ALLOW_PRIVATE_NETWORKS=True)
    make_webhook(api, url="https://localhost:8443/hook")
    make_webhook(api, url="https://[::1]/hook")


def test_patch_to_an_internal_host_is_refused(api):
    webhook_id = make_webhook(api).get_json()["id"]
    response = api.patch(f"/webhooks/{webhook_id}", 422, json={"url": "https://10.0.0.1/"})
    assert "url" in response.get_json()["errors"]["json"]


def test_a_local_http_receiver_is_refused_with_the_settings_that_would_allow_it(api):
    response = make_webhook(api, expect=422, url="http://localhost:9000/hook")
    message = response.get_json()["errors"]["json"]["url"][0]
    assert message.startswith("The URL must start with https://; localhost is a loopback name")
    assert "WEBHOOK_ALLOW_HTTP=1 and WEBHOOK_ALLOW_PRIVATE_NETWORKS=1" in message


def test_an_http_url_to_a_public_host_names_only_the_http_setting(api):
    response = make_webhook(api, expect=422, url="http://93.184.215.14/hook")
    message = response.get_json()["errors"]["json"]["url"][0]
    assert "WEBHOOK_ALLOW_HTTP=1." in message
    assert "PRIVATE" not in message


def test_a_private_host_names_only_the_private_networks_setting(api, webhook_settings):
    webhook_settings(WEBHOOK_ALLOW_HTTP=True)
    response = make_webhook(api, expect=422, url="http://127.0.0.1:9000/hook")
    message = response.get_json()["errors"]["json"]["url"][0]
    assert "run the API and the worker with WEBHOOK_ALLOW_PRIVATE_NETWORKS=1." in message
    assert "WEBHOOK_ALLOW_HTTP" not in message


def test_other_schemes_are_refused_without_a_setting_to_allow_them(api):
    response = make_webhook(api, expect=422, url="ftp://93.184.215.14/hook")
    assert response.get_json()["errors"]["json"]["url"] == ["The URL must start with https://."]
