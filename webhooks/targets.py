"""Where a webhook may send: http(s) URLs whose host resolves to public addresses only (no loopback,
private, link-local, multicast or reserved address: a webhook must not reach inside the network it
is sent from), unless WEBHOOKS_ALLOW_PRIVATE_TARGETS (development, tests)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class RefusedTarget(ValueError):
    pass


def check(url: str) -> None:
    """RefusedTarget naming the reason if `url` may not receive webhooks. Resolves the host (again
    at every delivery: a name may come to point elsewhere)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedTarget("A webhook URL is http:// or https:// with a host.")
    if parts.username or parts.password:
        raise RefusedTarget("A webhook URL carries no user name or password: the signature authenticates.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise RefusedTarget("The URL's port is not a number.") from None
    if settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)}
    except (socket.gaierror, UnicodeError):
        raise RefusedTarget(f"{parts.hostname} does not resolve.") from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global or ip.is_multicast:
            raise RefusedTarget(f"{parts.hostname} resolves to {ip}, a private, loopback or reserved address.")
