"""The ingest service's own broker credential: for the embedded broker, a random secret made
once per process (nothing to configure, nothing to leak to disk); for an external broker, the
credential in the broker URL (``mqtt://user:secret@host:port``)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

SERVICE_USERNAME = "$helan-ingest"
SERVICE_SECRET = secrets.token_urlsafe(32)
# Ports of embedded (amqtt) brokers running in this process: they speak MQTT 3.1.1 only.
EMBEDDED_PORTS: set[int] = set()


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    username: str
    password: str
    tls: bool

    @property
    def embedded(self) -> bool:
        return self.host in ("127.0.0.1", "localhost", "::1") and self.port in EMBEDDED_PORTS


def broker_address(url: str) -> BrokerAddress:
    """Host, port and the credential to use; without userinfo, the per-process service secret."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError(f"broker URL {url!r}: scheme must be mqtt:// or mqtts://")
    tls = parts.scheme in ("mqtts", "ssl")
    if not parts.hostname:
        raise ValueError(f"broker URL {url!r} has no host")
    port = parts.port or (8883 if tls else 1883)
    if parts.username is not None:
        return BrokerAddress(
            parts.hostname, port, unquote(parts.username), unquote(parts.password or ""), tls
        )
    return BrokerAddress(parts.hostname, port, SERVICE_USERNAME, SERVICE_SECRET, tls)
