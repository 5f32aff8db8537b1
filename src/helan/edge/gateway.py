"""The gateway process: adapters feed the buffer, the forwarder empties it upstream."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence

import orjson

from helan.core.tasks import cancel
from helan.edge.adapters.base import Adapter, CommandRefused, MethodAdapter
from helan.edge.adapters.modbus.adapter import ModbusAdapter
from helan.edge.buffer import Buffer, BufferUnavailable
from helan.edge.commands import CommandExecutor
from helan.edge.config import EdgeConfig
from helan.edge.forwarder import Forwarder, UplinkOptions
from helan.edge.readings import SampleSet, Scalar
from helan.edge.uplink.base import Encoder
from helan.edge.uplink.native import NativeEncoder
from helan.edge.uplink.session import MessageHandler, UplinkUnavailable
from helan.edge.uplink.sparkplug import SparkplugEncoder
from helan.protocol.topics import ROOT

log = logging.getLogger(__name__)
HOUSEKEEPING_S = 10.0


class Gateway:
    def __init__(self, config: EdgeConfig) -> None:
        self.config = config
        b = config.buffer
        self.buffer = Buffer(b.path, max_bytes=b.max_bytes, max_age_s=b.max_age_s, sync=b.sync)
        self.adapters: list[Adapter] = [ModbusAdapter(c) for c in config.modbus]
        if config.opcua:
            from helan.edge.adapters.opcua.adapter import OpcUaAdapter  # asyncua loads slowly

            self.adapters.extend(OpcUaAdapter(c) for c in config.opcua)
        self.lost_unbuffered = 0  # sample sets the buffer refused (disk full): counted, alarmed
        self.encoder, on_sparkplug = self._encoder()
        u = config.uplink
        self.device = u.gateway_device or u.edge_node_id or u.client_id
        self.commands = CommandExecutor(
            tenant=u.tenant,
            devices=self._devices(),
            buffer=self.buffer,
            check=self.check,
            write=self.write,
            call=self.call,
        )

        def on_message(topic: str, payload: bytes) -> None:
            if topic.startswith("spBv1.0/"):
                if on_sparkplug is not None:
                    on_sparkplug(topic, payload)
            else:
                self.commands.on_message(topic, payload)

        self.forwarder = Forwarder(
            self.buffer,
            self.encoder,
            UplinkOptions(
                url=u.url,
                client_id=u.client_id,
                username=u.username,
                password=u.password.get_secret_value() if u.password else None,
                keepalive_s=u.keepalive_s,
                window=u.window,
                backlog_window=u.backlog_window,
                reconnect_min_s=u.reconnect_min_s,
                reconnect_max_s=u.reconnect_max_s,
            ),
            on_command=on_message,
            subscriptions=self.commands.subscriptions(),
        )
        self.commands.publish = self.forwarder.publish
        self._housekeeping: asyncio.Task[None] | None = None
        self._health: asyncio.Task[None] | None = None

    def _devices(self) -> set[str]:
        """Platform devices whose points this gateway reads (commands may address them)."""
        devices: set[str] = set()
        for m in self.config.modbus:
            devices.update(p.device or m.device for p in m.points)
        for o in self.config.opcua:
            devices.update(n.device or o.device for n in o.nodes)
        return devices

    def _encoder(self) -> tuple[Encoder, MessageHandler | None]:
        u = self.config.uplink
        if u.format == "native":
            return NativeEncoder(u.tenant), None
        sp = SparkplugEncoder(
            u.group_id or u.tenant,
            u.edge_node_id or u.client_id,
            next_bdseq=lambda: self.buffer.next_value("bdseq"),
        )
        return sp, sp.on_command

    def sink(self, samples: Sequence[SampleSet]) -> None:
        try:
            self.buffer.append(samples)
        except BufferUnavailable as exc:
            self.lost_unbuffered += len(samples)
            log.error("ALARM edge buffer refused %d sample sets: %s", len(samples), exc)
        self.forwarder.wake()

    async def start(self) -> None:
        await self.forwarder.start()
        for adapter in self.adapters:
            await adapter.start(self.sink)
        self._housekeeping = asyncio.create_task(self._housekeep(), name="edge-housekeeping")
        self._health = asyncio.create_task(self._report_health(), name="edge-health")

    async def stop(self) -> None:
        for task in (self._housekeeping, self._health):
            await cancel(task)
        await self.commands.stop()
        for adapter in self.adapters:
            await adapter.stop()
        await self.forwarder.stop()
        self.buffer.close()

    async def _housekeep(self) -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_S)
            self.buffer.expire()
            self.buffer.forget_expired_commands()
            stats = self.buffer.stats()
            if stats["dropped_full"] or stats["dropped_age"]:
                log.warning("ALARM edge buffer has dropped data: %s", stats)

    async def _report_health(self) -> None:
        """Publish the gateway's health as attributes of its own platform device, and each
        PLC connection's status as attributes of the devices it feeds, on the native
        ``attributes`` topic whatever the data format (Sparkplug has no place for them)."""
        while True:
            await asyncio.sleep(self.config.uplink.health_interval_s)
            try:
                for topic, body in self.health_messages():
                    await self.forwarder.publish(topic, orjson.dumps(body))
            except UplinkUnavailable:
                continue  # reported again next time; health is not buffered

    def health_messages(self) -> list[tuple[str, dict[str, object]]]:
        base = f"{ROOT}/{self.config.uplink.tenant}"
        health = self.health()
        out: list[tuple[str, dict[str, object]]] = [
            (f"{base}/{self.device}/attributes", {f"edge_{k}": v for k, v in health.items()})
        ]
        feeds: dict[str, dict[str, object]] = {}
        for m in self.config.modbus:
            for p in m.points:
                feeds.setdefault(p.device or m.device, {})[m.name] = m.name
        for o in self.config.opcua:
            for n in o.nodes:
                feeds.setdefault(n.device or o.device, {})[o.name] = o.name
        by_name = {a.name: a.status.as_dict() for a in self.adapters}
        identified = self._identified()
        for device in identified:
            feeds.setdefault(device, {})
        for device, names in sorted(feeds.items()):
            status = {name: by_name[name] for name in names}
            body: dict[str, object] = {"edge_gateway": self.device, "edge_connections": status}
            if device in identified:
                body["identification"] = identified[device]
            out.append((f"{base}/{device}/attributes", body))
        return out

    def _identified(self) -> dict[str, dict[str, str]]:
        """What each PLC said it is, as the attribute of its connection's own device (the PLC;
        points naming other devices are what it measures, not what it is)."""
        devices = {c.name: c.device for c in self.config.modbus}
        devices.update((c.name, c.device) for c in self.config.opcua)
        return {
            devices[a.name]: a.identification
            for a in self.adapters
            if a.identification is not None and a.name in devices
        }

    def _adapter_of(self, device: str, metric: str) -> Adapter:
        for adapter in self.adapters:
            if adapter.has_point(device, metric):
                return adapter
        raise CommandRefused(f"no point {metric!r} for device {device!r} on this gateway")

    def check(self, device: str, metric: str, value: Scalar) -> None:
        self._adapter_of(device, metric).check(device, metric, value)

    async def write(self, device: str, metric: str, value: Scalar) -> None:
        """Route a command's write to the adapter that has the point."""
        await self._adapter_of(device, metric).write(device, metric, value)

    async def call(
        self, device: str, service: str, params: Mapping[str, Scalar]
    ) -> list[Scalar] | None:
        """Carry out a service through the adapter that maps it to a PLC method; None when
        none does (the command's params are then points to write)."""
        for adapter in self.adapters:
            if isinstance(adapter, MethodAdapter) and adapter.has_service(device, service):
                return await adapter.call(device, service, params)
        return None

    def health(self) -> dict[str, object]:
        return {
            "uplink": self.forwarder.status.as_dict(),
            "connections": {a.name: a.status.as_dict() for a in self.adapters},
            "buffer": self.buffer.stats(),
            "lost_unbuffered": self.lost_unbuffered,
            "messages_sent": self.forwarder.messages_sent,
            "points_sent": self.forwarder.points_sent,
            "commands": dict(self.commands.outcomes),
        }
