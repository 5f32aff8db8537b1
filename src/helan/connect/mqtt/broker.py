"""The embedded MQTT broker for a plant that runs no broker of its own: a private nats-server
(MQTT listener, JetStream file storage in the data dir) started and stopped with the platform.

A device's QoS 1 publish is acknowledged once JetStream holds it, and the ingest's persistent
session lives in JetStream too, so a crash of either process loses nothing the broker
acknowledged: the ingest acks after commit, and what it had not acked is sent again.
Credentials and topic rights follow the device directory through an auth callout
(:mod:`helan.connect.nats.callout`); connects and disconnects feed :class:`LiveState`.
NATS's MQTT speaks 3.1.1 only, which the platform's clients use on this port.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from helan.connect.mqtt.service import EMBEDDED_PORTS
from helan.connect.nats.callout import AuthCallout
from helan.connect.nats.jwt import AccountKey
from helan.connect.nats.server import NatsServer
from helan.observe.metrics import BROKER_CONNECTIONS

if TYPE_CHECKING:
    from helan.core.thing import DeviceDirectory
    from helan.ingest.live import LiveState

log = logging.getLogger(__name__)


class EmbeddedBroker:
    def __init__(
        self,
        port: int,
        directory: DeviceDirectory,
        *,
        live: LiveState | None = None,
        host: str = "127.0.0.1",
        data_dir: Path = Path("var"),
        on_refused: Callable[[str, str], None] | None = None,
    ) -> None:
        """``on_refused(tenant, device)``: called for each publish refused as outside the
        device's rights, so it counts in the device's tenant's error report."""
        self.port = port
        self.host = host
        self.directory = directory
        self.live = live
        self.store_dir = data_dir / "nats"
        self._key = AccountKey()
        self._server: NatsServer | None = None
        self.callout = AuthCallout(directory, self._key, live, on_refused=on_refused)
        self._kicks: set[asyncio.Task[None]] = set()

    @property
    def nats_url(self) -> str:
        """The embedded server's NATS client URL (127.0.0.1 only), with the ingest service's
        credential: the platform's own JetStream streams connect here."""
        from helan.connect.mqtt.service import SERVICE_SECRET, SERVICE_USERNAME

        if self._server is None:
            raise RuntimeError("the embedded broker is not running")
        return f"nats://{SERVICE_USERNAME}:{SERVICE_SECRET}@127.0.0.1:{self._server.client_port}"

    async def start(self) -> None:
        server = NatsServer(
            host=self.host,
            mqtt_port=self.port,
            store_dir=self.store_dir,
            issuer=self._key.public,
            on_violation=self._kick,
        )
        self._server = server
        try:
            await server.start()
            await self.callout.start(server.url, server.auth_user, server.sys_user)
            callout = self.callout
            BROKER_CONNECTIONS.set_function(lambda: callout.connections)
            await server.wait_mqtt()
        except BaseException:
            await self.stop()
            raise
        EMBEDDED_PORTS.add(self.port)
        log.info("embedded MQTT broker (nats-server) listening on %s:%d", self.host, self.port)

    def _kick(self, cid: int, subject: str) -> None:
        task = asyncio.get_running_loop().create_task(self.callout.kick(cid, subject))
        self._kicks.add(task)
        task.add_done_callback(self._kicks.discard)

    async def stop(self) -> None:
        EMBEDDED_PORTS.discard(self.port)
        await asyncio.gather(*self._kicks, return_exceptions=True)
        await self.callout.stop()
        if self._server is not None:
            await self._server.stop()
            self._server = None
