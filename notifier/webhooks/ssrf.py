"""Which addresses a webhook may reach: the guard against server-side request forgery.

A webhook URL is chosen by a user, and the worker calls it from inside our network.
Without a guard, `https://169.254.169.254/...` (cloud metadata), `https://localhost:5432`
or a name that resolves to `10.0.0.5` would make the worker a proxy into the network.

The rule is positive: an address is allowed only if it is globally routable
(`ipaddress`'s `is_global`) and not multicast (some multicast ranges are global) nor
IPv6 site-local (`fec0::/10`, which `ipaddress` counts as global).
IPv6 addresses that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, the NAT64
well-known prefix `64:ff9b::/96`, 6to4 and Teredo) are judged by the IPv4 address
they lead to. The check runs at registration (`check_url_host`, 422) and again at
every send on the address actually connected to (see `transport.py`), so a name that
later resolves to an internal address (DNS rebinding) is not called.
"""

from __future__ import annotations

import ipaddress
import socket
from ipaddress import IPv4Address, IPv6Address

IPAddress = IPv4Address | IPv6Address

NAT64 = ipaddress.ip_network("64:ff9b::/96")


class AddressRefused(Exception):
    """The host is, or resolves to, an address webhooks may not reach."""


def embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, if it carries one."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client's address
    return None


def reason_refused(address: IPAddress) -> str | None:
    """Why webhooks may not reach `address`, or None when they may."""
    if isinstance(address, IPv6Address):
        if address.scope_id:
            return "a link-local address"
        if address.is_site_local:
            # fec0::/10: deprecated (RFC 3879) but still routed inside some networks, and
            # `ipaddress` counts it as global.
            return "a site-local address"
        inner = embedded_ipv4(address)
        if inner is not None:
            return reason_refused(inner)
    for name, what in (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(address, name):
            return what
    if not address.is_global:
        return "an address that is not publicly routable"
    return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (TCP), in the resolver's order; OSError if none."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canonname, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise OSError(f"{host} has no address")
    return addresses


def check_addresses(host: str, addresses: list[IPAddress]) -> None:
    """Refuse the host if ANY of its addresses is refused: the resolver may pick any."""
    for address in addresses:
        reason = reason_refused(address)
        if reason is not None:
            shown = host if host == str(address) else f"{host} ({address})"
            raise AddressRefused(f"{shown} is {reason}; webhooks may only call public addresses.")


def literal_address(host: str) -> IPAddress | None:
    """The address when `host` is an IP literal (IPv6 without brackets), else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_url_host(host: str, port: int) -> None:
    """At registration: refuse a literal or a name that resolves to a refused address.

    A name that does not resolve now is accepted: it may resolve later, and the
    address is checked again at every send.
    """
    address = literal_address(host)
    if address is not None:
        check_addresses(host, [address])
        return
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        # Loopback by definition (RFC 6761), whatever this machine's resolver says.
        raise AddressRefused(f"{host} is a loopback name; webhooks may only call public addresses.")
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError):
        return
    check_addresses(host, addresses)
