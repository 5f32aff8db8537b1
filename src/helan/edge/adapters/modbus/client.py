"""pymodbus's async TCP client behind one small interface whose failures are one exception type.

pymodbus does not fail a pending request when the PLC closes the socket (it waits for the
timeout), so a read also ends when ``trace_connect`` reports the connection lost.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.pdu import ExceptionResponse, ModbusPDU

from helan.edge.adapters.modbus.codec import ReadBlock
from helan.edge.adapters.modbus.config import ModbusConnection, ModbusPoint

# Read Device Identification (FC 43 / MEI 14) objects: basic (0-2) and regular (3-6) ones.
IDENTIFICATION_OBJECTS = {
    0: "vendor_name",
    1: "product_code",
    2: "revision",
    4: "product_name",
    5: "model_name",
}
READ_REGULAR = 2  # read device id code: the basic and regular objects in one stream

EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "device failure",
    5: "acknowledge",
    6: "device busy",
    8: "memory parity error",
    10: "gateway path unavailable",
    11: "gateway target failed to respond",
}


class ModbusReadError(Exception):
    """A failed request. ``transport`` means the connection can no longer be trusted (timeout,
    dropped, malformed reply): the adapter reconnects. Otherwise the PLC answered with an
    exception response (``code``) and the connection is fine."""

    def __init__(self, reason: str, *, transport: bool, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transport = transport
        self.code = code


class ModbusClient:
    def __init__(self, conn: ModbusConnection) -> None:
        self.conn = conn
        self.requests: Counter[str] = Counter()
        self._lost: asyncio.Future[None] | None = None
        self._client = AsyncModbusTcpClient(
            conn.host,
            port=conn.port,
            timeout=conn.timeout_s,
            retries=0,
            reconnect_delay=0,  # the adapter owns reconnects (with its own backoff and status)
            trace_connect=self._trace_connect,
        )

    def _trace_connect(self, up: bool) -> None:
        if not up and self._lost is not None and not self._lost.done():
            self._lost.set_result(None)

    @property
    def connected(self) -> bool:
        return bool(self._client.connected)

    async def connect(self) -> None:
        self._lost = asyncio.get_running_loop().create_future()
        try:
            ok = await asyncio.wait_for(self._client.connect(), self.conn.timeout_s * 2)
        except (TimeoutError, OSError, ModbusException) as exc:
            raise ModbusReadError(f"connect failed: {exc}", transport=True) from None
        if not ok:
            where = f"{self.conn.host}:{self.conn.port}"
            raise ModbusReadError(f"connect to {where} failed", transport=True)

    def close(self) -> None:
        self._client.close()

    async def _call(self, what: str, make: Callable[[], Awaitable[ModbusPDU]]) -> ModbusPDU:
        lost = self._lost
        if lost is None or lost.done() or not self.connected:
            raise ModbusReadError(f"{what}: not connected", transport=True)
        try:
            request = asyncio.ensure_future(make())
        except ModbusException as exc:  # pymodbus raises at once when the socket just went
            raise ModbusReadError(f"{what}: {exc}", transport=True) from None
        either: set[asyncio.Future[Any]] = {request, lost}
        done, _ = await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if request not in done:
            request.cancel()
            raise ModbusReadError(f"{what}: connection closed by the PLC", transport=True)
        try:
            response = request.result()
        except ModbusException as exc:
            raise ModbusReadError(f"{what}: {exc}", transport=True) from None
        if isinstance(response, ExceptionResponse) or response.isError():
            code = int(getattr(response, "exception_code", 0))
            name = EXCEPTION_NAMES.get(code, "unknown exception")
            raise ModbusReadError(f"{what}: exception {code} ({name})", transport=False, code=code)
        return response

    async def read(self, block: ReadBlock) -> list[int] | list[bool]:
        """Words (registers) or bits of ``block``; raises :class:`ModbusReadError`."""
        c, unit = self._client, self.conn.unit_id
        reader = {
            "holding": c.read_holding_registers,
            "input": c.read_input_registers,
            "coil": c.read_coils,
            "discrete_input": c.read_discrete_inputs,
        }[block.table]
        what = f"read {block.table} {block.start}+{block.count}"
        self.requests[block.table] += 1
        response = await self._call(
            what, lambda: reader(block.start, count=block.count, device_id=unit)
        )
        if block.table in ("holding", "input"):
            words: list[int] = list(response.registers)
            if len(words) != block.count:
                raise ModbusReadError(
                    f"{what}: wrong byte count, {len(words)} registers in the reply",
                    transport=True,
                )
            return words
        bits: list[bool] = list(response.bits)
        if len(bits) < block.count:
            raise ModbusReadError(f"{what}: wrong byte count, {len(bits)} bits", transport=True)
        return bits[: block.count]

    async def write(self, point: ModbusPoint, payload: list[int] | bool) -> None:
        c, unit = self._client, self.conn.unit_id
        what = f"write {point.table} {point.address}"
        self.requests[f"write_{point.table}"] += 1
        address = point.address
        if isinstance(payload, bool):
            await self._call(what, lambda: c.write_coil(address, payload, device_id=unit))
        elif len(payload) == 1:
            await self._call(what, lambda: c.write_register(address, payload[0], device_id=unit))
        else:
            await self._call(what, lambda: c.write_registers(address, payload, device_id=unit))

    async def identify(self) -> dict[str, str]:
        """The PLC's Read Device Identification objects (FC 43 / MEI 14) by name; raises
        :class:`ModbusReadError` (an exception reply: the PLC does not implement it)."""
        unit = self.conn.unit_id
        self.requests["identify"] += 1
        response = await self._call(
            "read device identification",
            lambda: self._client.read_device_information(
                read_code=READ_REGULAR, object_id=0, device_id=unit
            ),
        )
        found: dict[str, str] = {}
        information = getattr(response, "information", {})  # a ReadDeviceInformationResponse
        for object_id, raw in dict(information).items():
            name = IDENTIFICATION_OBJECTS.get(int(object_id))
            if name is not None and isinstance(raw, bytes):
                text = raw.decode("utf-8", "replace").strip()
                if text:
                    found[name] = text[:200]
        return found
