"""Many simulated devices in one asyncio loop, each its own MQTT connection (gmqtt, QoS 1).

Every second each device samples its model, applies active faults, quantises to its sensors'
resolution and publishes ``{"ts", "values"}`` on its telemetry topic. Devices are spread over
the second in slots so that 10,000 of them do not publish in one burst. A device keeps its
unacknowledged messages and drains them before a planned disconnect (outage, storm), as a
device with a send buffer would; after an unplanned drop gmqtt reconnects by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import orjson
from gmqtt import Client
from gmqtt.mqtt.constants import MQTTv311
from gmqtt.mqtt.handler import MQTTConnectError
from gmqtt.storage import PersistentStorage

from helan.core.tasks import wait_set
from helan.sim.faults import Breakdown, Fault, Outage, ReconnectStorm, ValueFault
from helan.sim.machine import MachineModel
from helan.sim.metrics import SimEvent, quantise_values
from helan.sim.plan import SimDevice

log = logging.getLogger(__name__)

SLOTS_PER_SECOND = 20
EVENTS_MESSAGE = -1  # in the in-flight store's points per message: an events message
CONNECT_CONCURRENCY = 200
DRAIN_TIMEOUT_S = 5.0
CONNECT_ATTEMPTS = 8


@dataclass
class FactoryStats:
    devices: int = 0
    connected: int = 0  # now
    connects: int = 0  # successful CONNACKs, reconnects included
    connect_failures: int = 0
    published: int = 0  # messages handed to the broker connection
    points: int = 0  # values in those messages
    acked: int = 0  # messages the broker acknowledged (PUBACK)
    acked_points: int = 0
    skipped: int = 0  # readings not sent because the device was offline (outage, reconnecting)
    backpressured: int = 0  # readings not sent because the broker had not acknowledged earlier ones
    late_ticks: int = 0  # seconds skipped because the loop fell behind
    storms: int = 0
    outages: int = 0
    events: int = 0  # events published (machines' state changes and breakdowns)
    events_acked: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class _CountingStorage(PersistentStorage):  # type: ignore[misc]
    """gmqtt's in-flight store, counting acknowledgements (PUBACK removes the message)."""

    def __init__(self, stats: FactoryStats) -> None:
        super().__init__()
        self._stats = stats
        self._points: dict[int, int] = {}
        self.next_points = 0  # values in the message being published now

    def push_message(self, mid: int, raw_package: bytes) -> None:
        super().push_message(mid, raw_package)
        self._points[mid] = self.next_points

    def remove_message_by_mid(self, mid: int) -> None:
        if mid in self._messages:
            points = self._points.pop(mid, 0)
            if points == EVENTS_MESSAGE:
                self._stats.events_acked += 1
            else:
                self._stats.acked += 1
                self._stats.acked_points += points
        super().remove_message_by_mid(mid)

    def clear(self) -> None:
        self._points.clear()
        super().clear()


@dataclass(eq=False)
class _Link:
    device: SimDevice
    client: Client
    storage: _CountingStorage
    connects: int = 0
    silent_until: float = 0.0  # epoch seconds; an outage keeps the device quiet until then
    faults: list[ValueFault] = field(default_factory=list)
    pending_events: list[SimEvent] = field(default_factory=list)  # not yet accepted for sending


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
        raise ValueError(f"MQTT URL must look like mqtt://host:port, got {url!r}")
    return parts.hostname, parts.port or 1883


class Factory:
    """The devices' connections and the publishing loop; usable from tests step by step."""

    def __init__(
        self, devices: Sequence[SimDevice], mqtt_url: str, *, client_prefix: str = "sim"
    ) -> None:
        self.host, self.port = _host_port(mqtt_url)
        self.stats = FactoryStats(devices=len(devices))
        self.links: dict[str, _Link] = {}
        for d in devices:
            storage = _CountingStorage(self.stats)
            client = Client(f"{client_prefix}-{d.tenant}-{d.device_id}", persistent_storage=storage)
            client.set_config({"reconnect_retries": -1, "reconnect_delay": 2})
            if d.username is not None:
                client.set_auth_credentials(d.username, d.password)
            link = _Link(device=d, client=client, storage=storage)
            client.on_connect = self._on_connect(link)
            self.links[d.device_id] = link
        self._tasks: set[asyncio.Task[None]] = set()

    def _on_connect(self, link: _Link):  # type: ignore[no-untyped-def]
        def cb(client: Client, flags: int, rc: int, properties: object) -> None:
            link.connects += 1
            self.stats.connects += 1

        return cb

    def online(self) -> int:
        """Devices connected to the broker now (also stored in ``stats.connected``)."""
        self.stats.connected = sum(1 for link in self.links.values() if link.client.is_connected)
        return self.stats.connected

    async def _connect(self, link: _Link, gate: asyncio.Semaphore) -> None:
        """Connect, retrying with back-off: a first connect that fails is not retried by gmqtt."""
        for attempt in range(CONNECT_ATTEMPTS):
            async with gate:
                try:
                    await asyncio.wait_for(
                        link.client.connect(self.host, self.port, keepalive=60, version=MQTTv311),
                        30,
                    )
                    return
                except MQTTConnectError as exc:
                    # Refused: gmqtt retries by itself where that can help (busy, not bad password).
                    self.stats.connect_failures += 1
                    log.warning("device %s refused: %s", link.device.device_id, exc)
                    return
                except (TimeoutError, OSError) as exc:
                    self.stats.connect_failures += 1
                    log.warning("device %s could not connect: %s", link.device.device_id, exc)
            await asyncio.sleep(min(30.0, 0.5 * 2**attempt))

    async def connect_all(self, links: Iterable[_Link] | None = None) -> None:
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        await asyncio.gather(
            *(self._connect(link, gate) for link in (links or self.links.values()))
        )

    async def _drain(self, link: _Link) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(link.storage.wait_empty(), DRAIN_TIMEOUT_S)

    async def _disconnect(self, link: _Link) -> None:
        if link.client.is_connected:
            await self._drain(link)
        with contextlib.suppress(Exception):
            await link.client.disconnect()

    async def disconnect_all(self) -> None:
        await asyncio.gather(*(self._disconnect(link) for link in self.links.values()))

    async def reconnect_storm(self) -> None:
        """All devices drop their connections at once, then all reconnect at once."""
        self.stats.storms += 1
        await self.disconnect_all()
        await self.connect_all()

    async def outage(self, fault: Outage) -> None:
        link = self.links[fault.device]
        self.stats.outages += 1
        link.silent_until = time.time() + fault.duration_s
        if fault.disconnect:
            await self._disconnect(link)
            await asyncio.sleep(fault.duration_s)
            await self.connect_all([link])

    def break_down(self, fault: Breakdown, at: float) -> None:
        model = self.links[fault.device].device.model
        if isinstance(model, MachineModel):
            model.break_down(at)
        else:
            log.warning("sim: %s is not a machine; it cannot break down", fault.device)

    def publish(self, link: _Link, t: float, ts_ms: int, elapsed_s: float) -> bool:
        """Sample, fault, quantise and publish one reading of one device; False if not sent."""
        values = link.device.model.sample(t)
        for fault in link.faults:
            if fault.start_s <= elapsed_s < fault.start_s + fault.duration_s:
                values = fault.apply(values, elapsed_s - fault.start_s)
        values = quantise_values(link.device.kind, values)
        if t < link.silent_until or not link.client.is_connected:
            self.stats.skipped += 1
            return False
        link.storage.next_points = len(values)
        try:
            payload = orjson.dumps({"ts": ts_ms, "values": values})
            link.client.publish(link.device.topic, payload, qos=1)
        except OverflowError:  # the broker's Receive Maximum: too many messages await PUBACK
            self.stats.backpressured += 1
            return False
        self.stats.published += 1
        self.stats.points += len(values)
        self._publish_events(link)
        return True

    def _publish_events(self, link: _Link) -> None:
        """The events the device raised since its last reading, in one message; kept for the
        next reading when the broker pushes back."""
        events = link.pending_events + link.device.model.take_events()
        link.pending_events = []
        if not events:
            return
        body = [{"ts": ts, "event": name, "data": data} for ts, name, data in events]
        link.storage.next_points = EVENTS_MESSAGE
        try:
            link.client.publish(link.device.events_topic, orjson.dumps(body), qos=1)
        except OverflowError:
            link.pending_events = events
            return
        self.stats.events += len(events)

    def _spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[call-overload]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run(
        self, stop_event: asyncio.Event, faults: Sequence[Fault] = (), period_s: float = 1.0
    ) -> None:
        """Publish every ``period_s`` until ``stop_event`` is set; faults count from now."""
        scheduled = (Outage, ReconnectStorm, Breakdown)
        for f in faults:
            if not isinstance(f, scheduled):
                self.links[f.device].faults.append(f)
        pending = sorted((f for f in faults if isinstance(f, scheduled)), key=lambda f: f.start_s)
        links = list(self.links.values())
        slots = [links[i::SLOTS_PER_SECOND] for i in range(SLOTS_PER_SECOND)]
        t0 = math.ceil(time.time())
        second = float(t0)
        try:
            while not stop_event.is_set():
                elapsed = second - t0
                while pending and pending[0].start_s <= elapsed:
                    f = pending.pop(0)
                    if isinstance(f, Breakdown):
                        self.break_down(f, second)
                    else:
                        self._spawn(
                            self.reconnect_storm()
                            if isinstance(f, ReconnectStorm)
                            else self.outage(f)
                        )
                for i, slot in enumerate(slots):
                    at = second + i * period_s / SLOTS_PER_SECOND
                    delay = at - time.time()
                    if delay > 0:
                        await wait_set(stop_event, delay)
                    else:
                        await asyncio.sleep(0)  # behind: still let PUBACKs and the stop in
                    if stop_event.is_set():
                        return
                    ts_ms = int(at * 1000)
                    for link in slot:
                        self.publish(link, second, ts_ms, elapsed)
                second += period_s
                behind = time.time() - second
                if behind > period_s:
                    skip = int(behind / period_s)
                    self.stats.late_ticks += skip
                    second += skip * period_s
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def drain(self) -> None:
        """Wait (bounded) until the broker acknowledged everything published."""
        await asyncio.gather(
            *(self._drain(link) for link in self.links.values() if link.client.is_connected)
        )


async def run_factory(
    devices: Sequence[SimDevice],
    mqtt_url: str,
    *,
    stop_event: asyncio.Event,
    faults: Sequence[Fault] = (),
    period_s: float = 1.0,
    factory: Factory | None = None,
) -> FactoryStats:
    """Connect every device, publish until ``stop_event`` is set, drain, disconnect; counts."""
    factory = factory or Factory(devices, mqtt_url)
    await factory.connect_all()
    try:
        await factory.run(stop_event, faults, period_s)
        await factory.drain()
    finally:
        await factory.disconnect_all()
    return factory.stats
