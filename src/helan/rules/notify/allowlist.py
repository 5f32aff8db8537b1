"""Which outbound URLs a channel may reach: a tenant's webhook must not become a way into the
platform's own network (the metadata service at 169.254.169.254, the database, the broker).

http and https only; the host is resolved and every address it resolves to must be global
(not loopback, private, link-local, multicast, reserved, unspecified, shared or documentation
space, IPv4-mapped ones included) unless ``host[:port]`` is in ``settings.notify_allowed_hosts``.
Checked when a channel is saved and again before each send, since DNS answers change; what is
left is the moment between that check and the HTTP client's own lookup (docs/rules.md).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import urlsplit

from helan.core.errors import ValidationFailed

Resolver = Callable[[str, int], Sequence[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system's resolver: /etc/hosts, DNS)."""
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return sorted({str(info[4][0]) for info in infos})


class Refused(ValidationFailed):
    """The URL may not be reached; ``field`` names the channel setting."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(
            message,
            code="url_not_allowed",
            details=[{"loc": ["config", field], "message": message, "type": "url_not_allowed"}],
        )


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    ip = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _split(entry: str) -> tuple[str, str]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address -> (host, port or "")."""
    e = entry.strip().lower()
    if e.startswith("["):
        host, _, rest = e[1:].partition("]")
        return host, rest.removeprefix(":")
    if e.count(":") == 1:
        host, port = e.split(":")
        return host, port
    return e, ""


def _listed(host: str, port: int, allowed: Iterable[str]) -> bool:
    host = host.lower().rstrip(".")
    for entry in allowed:
        name, p = _split(entry)
        if name.rstrip(".") == host and (not p or p == str(port)):
            return True
    return False


def target(url: str, *, field: str = "url") -> tuple[str, int]:
    """Host and port of an http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(f"{field} must be an http:// or https:// URL with a host", field=field)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Refused(f"{field} has a bad port", field=field) from None
    return parts.hostname, port


def check_url(
    url: str,
    allowed: Iterable[str],
    *,
    field: str = "url",
    resolve: Resolver = system_resolver,
) -> None:
    """Refuse (:class:`Refused`, a 422) a URL that reaches a non-global address unlisted."""
    host, port = target(url, field=field)
    if _listed(host, port, allowed):
        return
    try:
        addresses = [_ip(host)]
    except ValueError:
        try:
            addresses = [_ip(a) for a in resolve(host, port)]
        except (OSError, UnicodeError) as exc:
            raise Refused(f"{field}: host {host!r} does not resolve ({exc})", field=field) from None
    if not addresses:
        raise Refused(f"{field}: host {host!r} does not resolve", field=field)
    for ip in addresses:
        if not ip.is_global or ip.is_multicast:
            raise Refused(
                f"{field}: {host}:{port} resolves to {ip}, a non-public address; "
                "list it in HELAN_NOTIFY_ALLOWED_HOSTS to allow it",
                field=field,
            )


async def check_url_async(
    url: str, allowed: Iterable[str], *, field: str = "url", resolve: Resolver = system_resolver
) -> None:
    """:func:`check_url` off the event loop (name resolution blocks)."""
    await asyncio.to_thread(check_url, url, list(allowed), field=field, resolve=resolve)
