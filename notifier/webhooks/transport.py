"""One webhook request, to an address checked at the moment it is connected to.

Why not `requests` as it comes: it resolves the host name itself, inside
urllib3, when it connects. A check made before (resolve, inspect, then call the
URL) could pass on one answer of the DNS and connect on the next (DNS
rebinding: the first answer public, the second `127.0.0.1`). So the name is
resolved ONCE here, every address is checked (`ssrf.check_addresses`), and the
connection is made to the checked address itself, through urllib3's public
connection pools: `HTTPSConnectionPool(<ip>, server_hostname=<name>,
assert_hostname=<name>)` keeps TLS (SNI and certificate checks) on the name, and
the `Host` header carries the name. Pools are kept per (scheme, address, port,
name), so keep-alive connections are reused, and a reused connection is to an
address that was checked when it was opened.

The answer is read with a total deadline and at most `MAX_ANSWER_BYTES`;
redirects are never followed; urllib3 does no retries of its own.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import urllib3
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from notifier.webhooks import ssrf
from notifier.webhooks.schemas import parse_url

MAX_ANSWER_BYTES = 65_536
READ_CHUNK = 8_192
MAX_POOLS = 256


@dataclass(frozen=True)
class Answer:
    """What a receiver answered: its status, headers of interest and the start of its body."""

    status: int
    retry_after: str | None
    body: bytes


class Transport:
    """Thread-safe: sender threads share it, and its connection pools."""

    def __init__(
        self, timeout_s: float, allow_http: bool, allow_private: bool, pool_size: int = 8
    ) -> None:
        self.timeout = urllib3.Timeout(connect=timeout_s, read=timeout_s)
        self.timeout_s = timeout_s
        self.allow_http = allow_http
        self.allow_private = allow_private
        self.pool_size = pool_size
        self._pools: OrderedDict[tuple, HTTPConnectionPool] = OrderedDict()
        self._lock = threading.Lock()

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        """POST `body` to `url`.

        Raises ValueError (the URL is not allowed), `ssrf.AddressRefused`,
        OSError (the name does not resolve) or a urllib3 error (connection,
        TLS, timeout, a malformed answer).
        """
        scheme, host, port = parse_url(url, self.allow_http)
        literal = ssrf.literal_address(host)
        addresses = [literal] if literal is not None else ssrf.resolve(host, port)
        if not self.allow_private:
            ssrf.check_addresses(host, addresses)
        address = addresses[0]
        pool = self._pool(scheme, str(address), port, host)
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        shown_host = f"[{host}]" if ":" in host else host
        default_port = 443 if scheme == "https" else 80
        request_headers = {
            **headers,
            "Host": shown_host if port == default_port else f"{shown_host}:{port}",
            "User-Agent": "notifier-webhooks/1.0",
        }
        deadline = time.monotonic() + self.timeout_s
        response = pool.urlopen(
            "POST",
            target,
            body=body,
            headers=request_headers,
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
            timeout=self.timeout,
        )
        complete = False
        try:
            data, complete = _read_some(response, deadline)
            return Answer(response.status, response.headers.get("Retry-After"), data)
        finally:
            if not complete:
                response.close()  # an unread rest must not poison the next request
            response.release_conn()

    def _pool(self, scheme: str, address: str, port: int, host: str) -> HTTPConnectionPool:
        key = (scheme, address, port, host)
        with self._lock:
            pool = self._pools.get(key)
            if pool is not None:
                self._pools.move_to_end(key)
                return pool
            options = {"maxsize": self.pool_size, "block": False, "retries": False}
            if scheme == "https":
                pool = HTTPSConnectionPool(
                    address,
                    port,
                    server_hostname=host,
                    assert_hostname=host,
                    cert_reqs="CERT_REQUIRED",
                    ca_certs=certifi.where(),
                    **options,
                )
            else:
                pool = HTTPConnectionPool(address, port, **options)
            self._pools[key] = pool
            if len(self._pools) > MAX_POOLS:
                _, oldest = self._pools.popitem(last=False)
                oldest.close()
            return pool

    def close(self) -> None:
        with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.close()


def _read_some(response, deadline: float) -> tuple[bytes, bool]:
    """At most MAX_ANSWER_BYTES of the body, within the deadline; (data, read to the end)."""
    chunks: list[bytes] = []
    size = 0
    while size < MAX_ANSWER_BYTES and time.monotonic() < deadline:
        chunk = response.read1(min(READ_CHUNK, MAX_ANSWER_BYTES - size))
        if not chunk:
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), False
