"""Where the platform's MQTT clients connect and how. The credential: for the embedded broker, a
random secret made once per process (nothing to configure, nothing to leak to disk); for an
external broker, the credential in the broker URL (``mqtt://user:secret@host:port``). The
protocol: MQTT 5 (Receive Maximum, session expiry), except for the embedded broker (nats-server)
and a URL ending in ``?protocol=3.1.1``: NATS's MQTT port speaks only 3.1.1, and has no shared
subscriptions, so the ingest opens one connection there. Ack after commit works on both."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from gmqtt.mqtt.constants import MQTTv50, MQTTv311

SERVICE_USERNAME = "$helan-ingest"
SERVICE_SECRET = secrets.token_urlsafe(32)
# Ports of embedded (nats-server) brokers run by this process: MQTT 3.1.1 only, no $share.
EMBEDDED_PORTS: set[int] = set()


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    username: str
    password: str
    tls: bool
    mqtt311: bool = False  # the URL asked for MQTT 3.1.1

    @property
    def embedded(self) -> bool:
        return self.host in ("127.0.0.1", "localhost", "::1") and self.port in EMBEDDED_PORTS

    @property
    def protocol(self) -> int:
        """gmqtt's protocol version constant for this broker."""
        return int(MQTTv311 if self.mqtt311 or self.embedded else MQTTv50)


def broker_address(url: str) -> BrokerAddress:
    """Host, port and the credential to use; without userinfo, the per-process service secret."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError(f"broker URL {url!r}: scheme must be mqtt:// or mqtts://")
    tls = parts.scheme in ("mqtts", "ssl")
    if not parts.hostname:
        raise ValueError(f"broker URL {url!r} has no host")
    port = parts.port or (8883 if tls else 1883)
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = set(query) - {"protocol"}
    protocol = query.get("protocol", ["5"])
    if unknown or len(protocol) != 1 or protocol[0] not in ("5", "3.1.1"):
        raise ValueError(f"broker URL {url!r}: the only query is protocol=5 or protocol=3.1.1")
    mqtt311 = protocol[0] == "3.1.1"
    if parts.username is not None:
        user, secret = unquote(parts.username), unquote(parts.password or "")
        return BrokerAddress(parts.hostname, port, user, secret, tls, mqtt311)
    return BrokerAddress(parts.hostname, port, SERVICE_USERNAME, SERVICE_SECRET, tls, mqtt311)
