"""The embedded broker steps aside when its port is taken (a system Mosquitto on 1883 is common)."""

from __future__ import annotations

import socket

from helan.config import Settings
from helan.platform import Platform


async def test_embedded_broker_moves_to_the_next_free_port(settings: Settings) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    busy = taken.getsockname()[1]
    settings = settings.model_copy(update={"mqtt_embedded_port": busy, "ident_port": 0})
    platform = Platform.build(settings)
    try:
        await platform.start()
        assert platform.broker is not None
        assert platform.broker.port != busy
        assert platform.mqtt_url == f"mqtt://127.0.0.1:{platform.broker.port}"
        assert platform.mqtt is not None
    finally:
        await platform.stop()
        taken.close()
