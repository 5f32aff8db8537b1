"""``helan sim plc``: the simulated pump-station (Modbus TCP) and oven (OPC UA) PLCs for the
edge demo, in one process until Ctrl+C."""

from __future__ import annotations

import asyncio
import signal

from rich.console import Console

from helan.sim.plc.modbus import SimulatedModbusPlc
from helan.sim.plc.opcua import SimulatedOpcUaPlc


async def serve_plcs(
    *, host: str, modbus_port: int, opcua_port: int, period_s: float, console: Console
) -> None:
    """Serve both PLCs until SIGINT/SIGTERM, then stop them cleanly."""
    modbus = SimulatedModbusPlc(host=host, port=modbus_port)
    opcua = SimulatedOpcUaPlc(port=opcua_port, period_s=period_s)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await modbus.start()
    try:
        await opcua.start()
        try:
            console.print(f"Modbus TCP pump PLC: {host}:{modbus_port} (unit 1)")
            console.print(f"OPC UA oven PLC:     {opcua.endpoint}")
            console.print("Press Ctrl+C to stop.")
            await stop.wait()
        finally:
            await opcua.stop()
    finally:
        await modbus.stop()
