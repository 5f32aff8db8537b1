"""The demo's watched PLC: the SCADA poller is learned as normal and raises nothing; then
``helan sim attack``'s traffic (real pymodbus clients over loopback) raises security events
for the pump the PLC drives: a new peer writing, diagnostics, an address scan."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from tests.conftest import eventually, free_port

from helan.core.events import EventRow
from helan.sim.watched_plc import WatchedPlc, attack


class Sink:
    """The ingest's ``submit_events`` as the PLC sees it (the platform's own is exercised by
    the security-event API tests)."""

    def __init__(self) -> None:
        self.rows: list[EventRow] = []

    async def submit_events(self, rows: Sequence[EventRow]) -> list[EventRow]:
        await asyncio.sleep(0)
        self.rows.extend(rows)
        return list(rows)


async def test_polling_is_quiet_and_the_attack_is_seen() -> None:
    sink = Sink()
    plc = WatchedPlc(sink, tenant="demo", device="pump-1", port=free_port(), learn_s=1.5)  # type: ignore[arg-type]
    await plc.start()
    try:
        await asyncio.sleep(3.5)  # learning, then two more polling rounds
        assert sink.rows == []
        sent = await attack("127.0.0.1", plc.plc.port)
        assert len(sent) == 3
        await eventually(lambda: len({r.data["kind"] for r in sink.rows}) >= 3, within=10)
    finally:
        await plc.stop()
    kinds = {r.data["kind"] for r in sink.rows}
    assert "new_modbus_peer" in kinds
    assert "diagnostics" in kinds
    assert {r.device for r in sink.rows} == {"pump-1"}
    assert {r.event for r in sink.rows} == {"security_anomaly"}
    assert any(r.data["client"] == "127.0.0.2" for r in sink.rows)
