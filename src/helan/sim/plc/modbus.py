"""A pump-station PLC on Modbus TCP (pymodbus server) whose registers change as a pump would.

Register map (addresses from 0; words big-endian, most significant register first):

=================  =======  ========  ==============================================
table              address  type      meaning
=================  =======  ========  ==============================================
holding            0        float32   discharge pressure, bar
holding            2        float32   motor current, A
holding            4        float32   flow, m3/h
holding            6        uint32    stroke counter
holding            8        int16     bearing temperature, 0.1 degC
holding            9        uint16    speed setpoint, rpm (writable)
holding            10       uint64    runtime, s
holding            14       float64   energy, kWh
holding            18       float32   discharge pressure again, little-endian words (CDAB)
holding            20..99   -         not present: reading it gives exception 2
holding            100..    uint16    ``bank`` registers for load tests (change every read)
input              0        float32   supply voltage, V
input              2        uint16    alarm code
coil               0..2     bool      pump running, valve open, fault reset (writable)
discrete input     0..2     bool      overload trip, level high, door closed
=================  =======  ========  ==============================================

Read Device Identification (FC 43 / MEI 14) answers as a Schneider Electric Modicon M340
(``BMXP342020``, firmware ``V3.40``: affected by CISA's ICSA-23-227-01 in data/csaf), so the
gateway's identification makes the security centre's demo show an affected asset;
``identity`` replaces it (None: no identification objects). pymodbus keeps the identity per
process, so PLCs started in one process say what the last one started says.

Faults for tests: ``delay_s`` (replies late: timeouts), ``drop_next`` (closes the connection
when the next request arrives), ``short_reply`` (next register reply one register short).
``tap``: a :class:`ModbusTap` that sees every frame of every connection with its peer (the
security centre's detector watching the PLC's side of the wire).
"""

from __future__ import annotations

import asyncio
import math
import random
import struct
import time
from collections import Counter
from dataclasses import dataclass

from pymodbus import ModbusDeviceIdentification
from pymodbus.constants import ExcCodes
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from helan.security.traffic.events import ModbusTap

BANK_START = 100
IDENTITY = {
    "VendorName": "Schneider Electric",
    "ProductCode": "BMXP342020",
    "MajorMinorRevision": "V3.40",
    "ProductName": "Modicon M340",
    "ModelName": "BMX P34 2020",
}
READ_HOLDING, READ_INPUT = 3, 4


def _words(fmt: str, value: float) -> list[int]:
    raw = struct.pack(f">{fmt}", value)
    return list(struct.unpack(f">{len(raw) // 2}H", raw))


class _TappedServer(ModbusTcpServer):
    """A server whose connections hand every frame, with the client's address, to ``tap``."""

    def __init__(self, *args: object, tap: ModbusTap, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]  # ModbusTcpServer's own
        self._tap = tap

    def callback_new_connection(self):  # type: ignore[no-untyped-def]  # pymodbus' signature
        handler = super().callback_new_connection()  # type: ignore[no-untyped-call]
        inner = handler.trace_packet

        def trace(sending: bool, data: bytes) -> bytes:
            data = inner(sending, data)
            client = handler.transport.get_extra_info("peername")[:2]
            server = handler.transport.get_extra_info("sockname")[:2]
            self._tap.frame(client, server, request=not sending, data=data)
            return data

        handler.trace_packet = trace
        return handler


@dataclass
class PlcFaults:
    delay_s: float = 0.0
    drop_next: bool = False
    short_reply: bool = False


class SimulatedModbusPlc:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 5020,
        bank: int = 0,
        seed: int = 1,
        tap: ModbusTap | None = None,
        identity: dict[str, str] | None = IDENTITY,
    ) -> None:
        self.host = host
        self.identity = identity
        self.port = port
        self.bank = bank
        self.faults = PlcFaults()
        self.tap = tap
        self.requests: Counter[int] = Counter()  # by function code
        self._rng = random.Random(seed)
        self._t0 = time.monotonic()
        self._strokes = 0
        self._last_update = 0.0
        self._server: ModbusTcpServer | None = None

    def _device(self) -> SimDevice:
        holding = [
            SimData(0, values=[0] * 20, datatype=DataType.REGISTERS),
        ]
        if self.bank:
            holding.append(SimData(BANK_START, values=[0] * self.bank, datatype=DataType.REGISTERS))
        inputs = [SimData(0, values=[0] * 3, datatype=DataType.REGISTERS)]
        coils = [SimData(0, values=[True, True, False], datatype=DataType.BITS)]
        discrete = [SimData(0, values=[False, False, True], datatype=DataType.BITS)]
        return SimDevice(0, simdata=(coils, discrete, holding, inputs), action=self._action)

    async def start(self) -> None:
        # pymodbus keeps one identity per process (ModbusControlBlock): every field is set,
        # blanks included, so the last PLC started is what every simulated PLC says it is.
        names = dict.fromkeys(IDENTITY, "") | (self.identity or {})
        identity = ModbusDeviceIdentification(info_name=names)  # type: ignore[no-untyped-call]
        if self.tap is None:
            self._server = ModbusTcpServer(
                self._device(),
                address=(self.host, self.port),
                identity=identity,
                trace_packet=self._trace_packet,
                trace_pdu=self._trace_pdu,
            )
        else:
            self._server = _TappedServer(
                self._device(),
                address=(self.host, self.port),
                identity=identity,
                trace_packet=self._trace_packet,
                trace_pdu=self._trace_pdu,
                tap=self.tap,
            )
        await self._server.serve_forever(background=True)

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]  # pymodbus: untyped
            self._server = None

    def drop_connections(self) -> None:
        """Close every client connection, as a PLC does when it reboots its Ethernet module."""
        if self._server is not None:
            for conn in list(self._server.active_connections.values()):
                conn.close()

    def _trace_pdu(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        if not sending:
            self.requests[pdu.function_code] += 1
        return pdu

    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        if sending and self.faults.short_reply and len(data) > 11 and data[7] in (3, 4):
            self.faults.short_reply = False
            length = struct.unpack(">H", data[4:6])[0] - 2
            return (
                data[:4] + struct.pack(">H", length) + data[6:8] + bytes([data[8] - 2]) + data[9:-2]
            )
        return data

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        if self.faults.drop_next:
            self.faults.drop_next = False
            self.drop_connections()
            return ExcCodes.DEVICE_FAILURE
        if self.faults.delay_s:
            await asyncio.sleep(self.faults.delay_s)
        if function_code == READ_HOLDING:
            self._update_holding(registers, start_address, address, count)
        elif function_code == READ_INPUT:
            t = time.monotonic() - self._t0
            registers[0:2] = _words("f", 400.0 + 3.0 * math.sin(t / 7) + self._rng.gauss(0, 0.3))
            registers[2] = 0
        return None

    def _update_holding(self, regs: list[int], start: int, address: int, count: int) -> None:
        now = time.monotonic()
        if address < 20 and now - self._last_update >= 0.02:
            self._last_update = now
            t = now - self._t0
            setpoint = regs[9 - start] or 1450
            load = setpoint / 1450
            pressure = 4.0 * load + 0.4 * math.sin(t / 11) + self._rng.gauss(0, 0.02)
            self._strokes += 1
            values: list[tuple[int, str, float]] = [
                (0, "f", pressure),
                (2, "f", 18.0 * load + 1.2 * math.sin(t / 5) + self._rng.gauss(0, 0.1)),
                (4, "f", 120.0 * load + self._rng.gauss(0, 0.5)),
                (6, "I", self._strokes),
                (8, "h", round(10 * (45.0 + 5 * math.sin(t / 60)))),
                (9, "H", setpoint),
                (10, "Q", int(t)),
                (14, "d", 1000.0 + t * 0.004 * load),
            ]
            for offset, fmt, value in values:
                words = _words(fmt, value)
                regs[offset - start : offset - start + len(words)] = words
            le = _words("f", pressure)
            regs[18 - start : 20 - start] = [le[1], le[0]]
        if self.bank and address + count > BANK_START:
            tick = int(now * 10)
            first = max(address, BANK_START)
            for a in range(first, min(address + count, BANK_START + self.bank)):
                regs[a - start] = (tick + a) & 0xFFFF


async def serve(host: str, port: int, bank: int) -> None:
    """Run until cancelled (``python -m helan.sim.plc.modbus PORT [BANK]``)."""
    plc = SimulatedModbusPlc(host=host, port=port, bank=bank)
    await plc.start()
    try:
        await asyncio.Event().wait()
    finally:
        await plc.stop()


if __name__ == "__main__":
    import sys

    asyncio.run(serve("127.0.0.1", int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0))
