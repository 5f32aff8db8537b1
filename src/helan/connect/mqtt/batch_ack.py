"""A gmqtt client that hands over QoS 1 messages with their packet ids and acknowledges many
at once, when the caller says their points are durable.

gmqtt's own manual acknowledgement (``optimistic_acknowledgement=False``) wraps every message
in a task of the async ``on_message`` and writes one PUBACK per message to the socket; at
25,000 messages/s that machinery cost more than decoding and storing the data. Here a PUBLISH
without MQTT 5 properties (what brokers forward for plain device messages) is parsed in a few
slices and handed over by a plain call, and PUBACKs go out as one write per committed batch;
anything else (other packets, a PUBLISH with properties) takes gmqtt's own path. The hooks are
gmqtt's ``MqttPackageHandler._handle_packet`` and ``_handle_qos_1_publish_packet`` (gmqtt is
pinned in pyproject.toml; ``tests/connect/test_mqtt_ingest.py`` fails if a gmqtt change breaks
delivery or ack after commit).
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Sequence
from typing import Any

from gmqtt import Client
from gmqtt.mqtt.constants import MQTTv50

_PUBACK = struct.Struct("!BBH")  # PUBACK, remaining length 2, packet id: reason "success"


class AckChannel:
    """One network connection of a client: packet ids are only valid on the connection that
    delivered them, so acknowledgements go through the channel the message came in on."""

    __slots__ = ("_client", "_epoch")

    def __init__(self, client: BatchAckClient, epoch: int) -> None:
        self._client = client
        self._epoch = epoch

    def acknowledge(self, mids: Sequence[int]) -> bool:
        """PUBACK ``mids`` (in the order given) in one write; False, sending nothing, when the
        connection is gone (the broker sends those messages again on the next one)."""
        return self._client.acknowledge(mids, self._epoch)


# sink(topic, payload, packet id or None for QoS 0, channel to acknowledge on)
Sink = Callable[[str, bytes, int | None, AckChannel], None]


class BatchAckClient(Client):  # type: ignore[misc]  # gmqtt is untyped
    def __init__(self, client_id: str, sink: Sink, **kwargs: Any) -> None:
        super().__init__(client_id, optimistic_acknowledgement=False, **kwargs)
        self._sink = sink
        self._epoch = 0  # bumped on every CONNACK: packet ids of an older connection are void
        self.channel = AckChannel(self, 0)
        handler = self._package_handler
        self._gmqtt_handle_packet = handler._handle_packet
        handler._handle_packet = self._handle_packet
        handler._handle_qos_1_publish_packet = self._qos_1
        self.on_message = self._qos_0

    def new_connection(self) -> None:
        """Call from ``on_connect``: later messages belong to a new channel."""
        self._epoch += 1
        self.channel = AckChannel(self, self._epoch)

    def _handle_packet(self, cmd: int, packet: bytes) -> None:
        if cmd & 0xF0 != 0x30 or not self._publish(cmd, packet):
            self._gmqtt_handle_packet(cmd, packet)
            return
        self._package_handler._last_msg_in = time.monotonic()  # gmqtt's keepalive clock

    def _publish(self, cmd: int, packet: bytes) -> bool:
        """Deliver a PUBLISH without properties; False leaves the packet to gmqtt."""
        end = 2 + ((packet[0] << 8) | packet[1])
        qos = (cmd >> 1) & 3
        if end == 2:  # a topic alias: gmqtt keeps the alias table
            return False
        mid = None
        if qos == 1:
            mid = (packet[end] << 8) | packet[end + 1]
            start = end + 2
        elif qos == 0:
            start = end
        else:
            return False
        if self._connection_state.protocol_version >= MQTTv50:
            if packet[start] != 0:  # property length
                return False
            start += 1
        try:
            topic = packet[2:end].decode()
        except UnicodeDecodeError:
            return False
        self._sink(topic, packet[start:], mid, self.channel)
        return True

    def _qos_1(self, mid: int, payload: bytes, topic: str, properties: Any) -> None:
        self._sink(topic, payload, mid, self.channel)

    def _qos_0(self, client: Any, topic: str, payload: bytes, qos: int, properties: Any) -> int:
        self._sink(topic, payload, None, self.channel)
        return 0

    def acknowledge(self, mids: Sequence[int], epoch: int) -> bool:
        connection = self._connection
        if epoch != self._epoch or connection is None or not self.is_connected:
            return False
        if mids:
            pack = _PUBACK.pack
            connection._protocol.write_data(b"".join([pack(0x40, 2, m) for m in mids]))
        return True
