"""The embedded MQTT broker (amqtt, pure Python) for a plant that runs no broker of its own.

Three amqtt plugins bind it to the device directory: authentication (device credential or the
ingest service's per-process secret), topic access (a device only under its own
``helan/v1/{tenant}/{device}/`` and those of the devices it is the gateway of), and
connect/disconnect events into :class:`LiveState`.
amqtt speaks MQTT 3.1.1 only and acknowledges a device's QoS 1 publish on receipt, so it keeps
nothing across a crash of the process; plants that need that run Mosquitto (docs/ingest.md).
"""

from __future__ import annotations

import hmac
import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from amqtt.broker import Broker
from amqtt.contexts import Action, BaseContext
from amqtt.plugins.base import BaseAuthPlugin, BasePlugin, BaseTopicPlugin

from helan.connect.mqtt.service import EMBEDDED_PORTS, SERVICE_SECRET, SERVICE_USERNAME
from helan.protocol.topics import (
    ROOT,
    SPARKPLUG_DOWN,
    SPARKPLUG_NAMESPACE,
    SPARKPLUG_UP,
    device_prefix,
)

if TYPE_CHECKING:
    from amqtt.session import Session

    from helan.core.thing import DeviceDirectory, DeviceRef
    from helan.ingest.live import LiveState

log = logging.getLogger(__name__)

# amqtt builds plugins from dotted paths and a config dict; this maps a key in that dict back to
# the broker object (several embedded brokers may run in one process, e.g. in tests).
_BROKERS: dict[str, EmbeddedBroker] = {}


class _Service:
    """Marker principal of the ingest subscriber."""


SERVICE = _Service()


class EmbeddedBroker:
    def __init__(
        self,
        port: int,
        directory: DeviceDirectory,
        *,
        live: LiveState | None = None,
        host: str = "0.0.0.0",  # noqa: S104 - devices connect from the plant network; all authenticated
    ) -> None:
        self.port = port
        self.host = host
        self.directory = directory
        self.live = live
        self._key = uuid.uuid4().hex
        self._principals: dict[str, DeviceRef | _Service] = {}
        self._broker: Broker | None = None

    async def start(self) -> None:
        plugin_config = {"broker_key": self._key}
        config: dict[str, Any] = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                f"{__name__}.DeviceAuthPlugin": plugin_config,
                f"{__name__}.DeviceTopicPlugin": plugin_config,
                f"{__name__}.DeviceEventsPlugin": plugin_config,
            },
        }
        _BROKERS[self._key] = self
        self._broker = Broker(config)
        try:
            await self._broker.start()
        except Exception:
            _BROKERS.pop(self._key, None)
            self._broker = None
            raise
        EMBEDDED_PORTS.add(self.port)
        log.info("embedded MQTT broker listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None
        _BROKERS.pop(self._key, None)
        EMBEDDED_PORTS.discard(self.port)
        self._principals.clear()

    def authenticate(self, session: Session) -> bool:
        username, password = session.username or "", session.password or ""
        client_id = session.client_id or ""
        if username == SERVICE_USERNAME:
            ok = hmac.compare_digest(password.encode(), SERVICE_SECRET.encode())
            if ok:
                self._principals[client_id] = SERVICE
            return ok
        if isinstance(self._principals.get(client_id), _Service):
            log.warning("MQTT connect refused: client id %r is the ingest service's", client_id)
            return False
        ref = self.directory.authenticate(username, password) if username else None
        if ref is None or not ref.enabled:
            log.info("MQTT connect refused for username %r (client %r)", username[:64], client_id)
            return False
        self._principals[client_id] = ref
        return True

    def allowed(self, session: Session | None, topic: str | None, action: Action) -> bool:
        if session is None or not topic:
            return False
        principal = self._principals.get(session.client_id or "")
        if principal is None:
            return False
        if isinstance(principal, _Service):
            return action is not Action.PUBLISH or _service_may_publish(topic)
        if topic.startswith(device_prefix(principal.tenant, principal.device)):
            return True
        return _gateway_may(self.directory, principal, topic) or _sparkplug_node_may(
            principal, topic, action
        )

    def connected(self, client_id: str, up: bool) -> None:
        principal = self._principals.get(client_id)
        if principal is None or isinstance(principal, _Service):
            return
        if self.live is not None:
            self.live.set_connected(principal.tenant, principal.device, up)
        if not up:
            self._principals.pop(client_id, None)


def _service_may_publish(topic: str) -> bool:
    """The platform's services publish error reports and commands down to devices, and
    Sparkplug commands (rebirth requests, writes) down to edge nodes: nothing else."""
    parts = topic.split("/")
    if topic.startswith(f"{ROOT}/"):
        errors = len(parts) == 5 and parts[4] == "errors"
        return errors or (len(parts) == 6 and parts[4] == "commands")
    return len(parts) >= 4 and parts[0] == SPARKPLUG_NAMESPACE and parts[2] in SPARKPLUG_DOWN


def _gateway_may(directory: DeviceDirectory, principal: DeviceRef, topic: str) -> bool:
    """A gateway's credential may use the topics of the devices whose ``gateway`` it is, as if
    it were theirs. Asked of the directory on every message, so reassigning a device takes
    effect at once; a wildcard in the device level names no device and is refused."""
    parts = topic.split("/", 4)
    if len(parts) != 5 or f"{parts[0]}/{parts[1]}" != ROOT or parts[2] != principal.tenant:
        return False
    child = directory.lookup(principal.tenant, parts[3])
    return child is not None and child.gateway == principal.device


def _sparkplug_node_may(principal: DeviceRef, topic: str, action: Action) -> bool:
    """A device credential is also a Sparkplug edge node's: group = its tenant, edge node id =
    its device id. It may publish its node's and devices' births, data and deaths, and receive
    its commands; the edge node id must match exactly (no wildcard in that level)."""
    parts = topic.split("/")
    if len(parts) < 4 or parts[0] != SPARKPLUG_NAMESPACE:
        return False
    if parts[1] != principal.tenant or parts[3] != principal.device:
        return False
    kinds = SPARKPLUG_UP if action is Action.PUBLISH else SPARKPLUG_DOWN
    return parts[2] in kinds


def _broker_of(context: BaseContext) -> EmbeddedBroker | None:
    key = getattr(context.config, "broker_key", "")
    return _BROKERS.get(key)


class DeviceAuthPlugin(BaseAuthPlugin):  # type: ignore[misc]  # amqtt ships no type stubs
    @dataclass
    class Config:
        broker_key: str = ""

    async def authenticate(self, *, session: Session) -> bool | None:
        broker = _broker_of(self.context)
        return broker is not None and broker.authenticate(session)


class DeviceTopicPlugin(BaseTopicPlugin):  # type: ignore[misc]  # amqtt ships no type stubs
    @dataclass
    class Config:
        broker_key: str = ""

    async def topic_filtering(
        self,
        *,
        session: Session | None = None,
        topic: str | None = None,
        action: Action | None = None,
    ) -> bool | None:
        broker = _broker_of(self.context)
        if broker is None or action is None:
            return False
        return broker.allowed(session, topic, action)


class DeviceEventsPlugin(BasePlugin[BaseContext]):  # type: ignore[misc]  # no type stubs
    @dataclass
    class Config:
        broker_key: str = ""

    async def on_broker_client_connected(self, client_id: str, client_session: Session) -> None:
        broker = _broker_of(self.context)
        if broker is not None:
            broker.connected(client_id, True)

    async def on_broker_client_disconnected(self, client_id: str, client_session: Session) -> None:
        broker = _broker_of(self.context)
        if broker is not None:
            broker.connected(client_id, False)
