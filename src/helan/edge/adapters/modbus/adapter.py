"""Polls one PLC: merged reads each interval, per-point quality, reconnect with backoff."""

from __future__ import annotations

import asyncio
import logging

from helan.core.tasks import cancel
from helan.edge.adapters.base import Backoff, CommandFailed, CommandRefused
from helan.edge.adapters.modbus.client import ModbusClient, ModbusReadError
from helan.edge.adapters.modbus.codec import (
    CodecError,
    ReadBlock,
    decode_block,
    from_engineering,
    plan_reads,
)
from helan.edge.adapters.modbus.config import ModbusConnection, ModbusPoint
from helan.edge.readings import ConnectionStatus, SampleSet, Scalar, Sink, now_ms

log = logging.getLogger(__name__)

ILLEGAL_ADDRESS = 2


Payload = list[int] | bool  # registers, or a coil's state


class ModbusAdapter:
    def __init__(self, conn: ModbusConnection) -> None:
        self.conn = conn
        self.name = conn.name
        self.status = ConnectionStatus(conn.name)
        self.client = ModbusClient(conn)
        self.blocks: list[ReadBlock] = plan_reads(
            conn.points,
            max_gap=conn.max_gap,
            max_bit_gap=conn.max_bit_gap,
            max_registers=conn.max_registers,
            max_bits=conn.max_bits,
        )
        self.cycles = 0
        # What the PLC says it is (FC 43/14), read once per connect; reported upstream as the
        # device attribute ``identification`` (the security centre's asset inventory).
        self.identification: dict[str, str] | None = None
        self._points = {(p.device or conn.device, p.metric): p for p in conn.points}
        self._task: asyncio.Task[None] | None = None

    def device_of(self, point: ModbusPoint) -> str:
        return point.device or self.conn.device

    async def start(self, sink: Sink) -> None:
        self._task = asyncio.create_task(self._run(sink), name=f"modbus:{self.name}")

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None
        self.client.close()
        self.status.connected = False

    async def _run(self, sink: Sink) -> None:
        backoff = Backoff(self.conn.reconnect_min_s, self.conn.reconnect_max_s)
        first = True
        while True:
            if not first:
                await backoff.wait()
                self.status.reconnects += 1
            first = False
            try:
                await self.client.connect()
            except ModbusReadError as exc:
                self._lost(sink, exc.reason)
                continue
            self.status.connected = True
            self.status.last_error = None
            backoff.reset()
            await self._identify()
            reason = await self._poll(sink)  # its last cycle already reported the points BAD
            self.client.close()
            self.status.failed(reason)
            log.warning("modbus %s: %s", self.name, reason)

    async def _identify(self) -> None:
        """Ask the PLC what it is. Many PLCs do not implement FC 43: an exception reply leaves
        the identification unknown and the connection in use; a broken connection shows in
        the first poll."""
        try:
            found = await self.client.identify()
        except ModbusReadError as exc:
            log.info("modbus %s: no device identification: %s", self.name, exc.reason)
            return
        if found:
            self.identification = {**found, "source": "modbus"}

    def _lost(self, sink: Sink, reason: str) -> None:
        """Mark every point BAD once when connecting fails, not on every failed retry."""
        was_up = self.status.errors == 0
        self.status.failed(reason)
        log.warning("modbus %s: %s", self.name, reason)
        if was_up:
            sink(self._all_bad(reason))

    def _all_bad(self, reason: str) -> list[SampleSet]:
        ts = now_ms()
        sets: dict[str, SampleSet] = {}
        for device, metric in self._points:
            sets.setdefault(device, SampleSet(device=device, ts=ts)).bad[metric] = reason
        return list(sets.values())

    async def _poll(self, sink: Sink) -> str:
        """Read every block each interval until the connection breaks; returns why it broke."""
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            broken = await self._cycle(sink)
            if broken is not None:
                return broken
            next_at += self.conn.poll_interval_s
            delay = next_at - loop.time()
            if delay < 0:  # behind schedule: skip the missed ticks rather than burst
                next_at = loop.time()
                delay = 0
            await asyncio.sleep(delay)

    async def _cycle(self, sink: Sink) -> str | None:
        ts = now_ms()
        sets: dict[str, SampleSet] = {}

        def slot(point: ModbusPoint) -> SampleSet:
            device = self.device_of(point)
            found = sets.get(device)
            if found is None:
                found = sets[device] = SampleSet(device=device, ts=ts)
            return found

        broken: str | None = None
        for block in list(self.blocks):
            if broken is not None:
                for p in block.points:
                    slot(p).bad[p.metric] = f"not read: {broken}"
                continue
            try:
                data = await self.client.read(block)
            except ModbusReadError as exc:
                for p in block.points:
                    slot(p).bad[p.metric] = exc.reason
                if exc.transport:
                    broken = exc.reason
                elif exc.code == ILLEGAL_ADDRESS and len(block.points) > 1:
                    self._split(block)
                continue
            values, bad = decode_block(block, data)
            for p, v in values.items():
                slot(p).values[p.metric] = v
            for p, why in bad.items():
                slot(p).bad[p.metric] = why
        self.cycles += 1
        sink(list(sets.values()))
        return broken

    def _split(self, block: ReadBlock) -> None:
        """A merged read hit an address the PLC does not have: read its points one by one from
        now on, so one wrong address costs only its own point."""
        at = self.blocks.index(block)
        singles = [ReadBlock(block.table, p.address, p.width, (p,)) for p in block.points]
        self.blocks[at : at + 1] = singles
        log.warning("modbus %s: split %s %d+%d", self.name, block.table, block.start, block.count)

    def has_point(self, device: str, metric: str) -> bool:
        return (device, metric) in self._points

    def _encoded(self, device: str, metric: str, value: Scalar) -> tuple[ModbusPoint, Payload]:
        point = self._points.get((device, metric))
        if point is None:
            raise CommandRefused(f"{self.name}: no point {metric!r} for device {device!r}")
        if not point.writable:
            raise CommandRefused(f"{self.name}: point {metric!r} is not writable")
        try:
            return point, from_engineering(point, value)
        except CodecError as exc:
            raise CommandRefused(f"{self.name}: {exc}") from None

    def check(self, device: str, metric: str, value: Scalar) -> None:
        self._encoded(device, metric, value)

    async def write(self, device: str, metric: str, value: Scalar) -> None:
        point, payload = self._encoded(device, metric, value)
        try:
            await self.client.write(point, payload)
        except ModbusReadError as exc:
            raise CommandFailed(f"{self.name}: {exc.reason}") from None
