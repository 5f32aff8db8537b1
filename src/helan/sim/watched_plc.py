"""The demo's pump-station PLC on loopback, watched by the traffic detector (``make run``).

A SCADA-like poller reads it every second; what the detector learns in the first
``learn_s`` seconds is the allow-list. Alerts become ``security_anomaly`` events of the pump
the PLC drives, submitted to the platform's ingest, so they show on the console's security
events page and a tenant's rule on them alarms. ``helan sim attack`` plays the suite's attack
traffic (a new peer writing, diagnostics, an address scan) against it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from pymodbus.client import AsyncModbusTcpClient

from helan.core.events import EventRow
from helan.ingest.pipeline import IngestPipeline
from helan.security.traffic.detector import TrafficDetector
from helan.security.traffic.events import ModbusTap, SecurityEvents
from helan.sim.plc.modbus import SimulatedModbusPlc

log = logging.getLogger(__name__)
LEARN_S = 60.0
POLL_S = 1.0


class WatchedPlc:
    def __init__(
        self,
        pipeline: IngestPipeline,
        *,
        tenant: str,
        device: str,
        port: int,
        learn_s: float = LEARN_S,
    ) -> None:
        self.pipeline = pipeline
        self.tap = ModbusTap(
            TrafficDetector(learn_s=learn_s),
            events=SecurityEvents(tenant, device, "modbus"),
            submit=self._submit,
        )
        self.plc = SimulatedModbusPlc(port=port, tap=self.tap)
        self._tasks: set[asyncio.Task[object]] = set()
        self._poller: asyncio.Task[None] | None = None

    def _submit(self, rows: Sequence[EventRow]) -> None:
        """From the PLC's connection callback: never wait on the platform there."""
        task: asyncio.Task[object] = asyncio.get_running_loop().create_task(
            self.pipeline.submit_events(rows)
        )
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[object]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("security events of the watched PLC not stored", exc_info=task.exception())

    async def start(self) -> None:
        await self.plc.start()
        self._poller = asyncio.create_task(self._poll(), name="helan-sim-scada-poll")

    async def _poll(self) -> None:
        client = AsyncModbusTcpClient(self.plc.host, port=self.plc.port, retries=1)
        try:
            while True:
                if not client.connected and not await client.connect():
                    await asyncio.sleep(POLL_S)
                    continue
                with contextlib.suppress(Exception):  # the next round reconnects
                    await client.read_holding_registers(0, count=10, device_id=0)
                    await client.read_input_registers(0, count=3, device_id=0)
                    await client.read_coils(0, count=3, device_id=0)
                await asyncio.sleep(POLL_S)
        finally:
            client.close()

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        await self.plc.stop()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)


async def attack(host: str, port: int) -> list[str]:
    """The suite's attack traffic: a write from a peer the PLC never saw, a diagnostics
    request, and a scan of unmapped addresses (exception bursts). What was sent, in order."""
    done: list[str] = []
    intruder = AsyncModbusTcpClient(host, port=port, source_address=("127.0.0.2", 0), retries=0)
    if not await intruder.connect():
        raise ConnectionError(f"no Modbus TCP server at {host}:{port}")
    try:
        await intruder.write_register(5, 999, device_id=0)
        done.append("write holding register 5 from 127.0.0.2")
        await intruder.diag_read_bus_message_count(device_id=0)
        done.append("diagnostics (function 8)")
        for address in range(20, 200, 10):  # the PLC maps 0-19: exception 2 each
            await intruder.read_holding_registers(address, count=1, device_id=0)
        done.append("scan of holding registers 20-190")
    finally:
        intruder.close()
    return done
