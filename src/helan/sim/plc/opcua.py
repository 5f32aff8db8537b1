"""An oven-line PLC on OPC UA (asyncua server): a few changing variables, a writable setpoint,
and methods, with optional Basic256Sha256 security and username login.

Node ids (namespace ``urn:helan:sim:oven``, index 2): ``ns=2;s=Oven.Temperature`` (Double,
degC), ``ns=2;s=Oven.Running`` (Boolean), ``ns=2;s=Oven.Count`` (UInt32 parts made),
``ns=2;s=Oven.Setpoint`` (Double, writable), ``ns=2;s=Oven.Zones`` (Double[4], the
temperatures of the oven's four zones), methods ``ns=2;s=Oven.ResetCount()`` and
``ns=2;s=Oven.SetCount(UInt32)`` (both return the previous count) on object ``ns=2;s=Oven``.
For load tests, ``bank`` extra Double variables ``ns=2;s=Bank.{i}`` change every period, and
``arrays`` Double[``array_length``] variables ``ns=2;s=ArrayBank.{i}`` (a PLC data block of REALs)
change as a whole every period, all stamped with the same source timestamp (the PLC's cycle):
one array write is one notification however long the array, which is how a pure-Python server
offers tens of thousands of points/s. ``python -m helan.sim.plc.opcua PORT BANK PERIOD_S
[--arrays N] [--array-length L]`` serves one on its own.

Its BuildInfo says it is a WAGO PFC200 on firmware ``FW24`` (affected by CISA's
ICSA-23-325-01 in data/csaf), which the gateway reads as the oven's identification.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from asyncua import ua
from asyncua.common.methods import uamethod
from asyncua.common.node import Node
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from asyncua.server.server import Server
from asyncua.server.user_managers import UserManager
from asyncua.ua.attribute_ids import AttributeIds

from helan.core.tasks import cancel

NAMESPACE = "urn:helan:sim:oven"
ZONES = (-3.0, -1.0, 1.0, 3.0)  # each zone's offset from the oven's temperature
BUILD_INFO = ("WAGO", "PFC200", "FW24")  # manufacturer, product, software version


def _nid(name: str, idx: int) -> ua.NodeId:
    return ua.NodeId.from_string(f"ns={idx};s={name}")


async def _one_dimension(node: Node, length: int) -> None:
    """Declare an array variable as the PLC would (ValueRank 1, ArrayDimensions [length]), so a
    client browsing it sees its shape."""
    await node.write_value_rank(ua.ValueRank.OneDimension)
    dims = ua.Variant([length], ua.VariantType.UInt32, is_array=True)
    await node.write_attribute(AttributeIds.ArrayDimensions, ua.DataValue(dims))


class _Users(UserManager):
    def __init__(self, users: dict[str, str]) -> None:
        self.users = users

    def get_user(
        self,
        iserver: object,
        username: str | None = None,
        password: str | None = None,
        certificate: object = None,
    ) -> User | None:
        if username is not None and self.users.get(username) == password:
            return User(role=UserRole.User, name=username)
        return None


class SimulatedOpcUaPlc:
    def __init__(
        self,
        *,
        port: int,
        period_s: float = 0.05,
        certificate: Path | None = None,
        private_key: Path | None = None,
        users: dict[str, str] | None = None,
        trusted: Path | None = None,
        bank: int = 0,
        arrays: int = 0,
        array_length: int = 100,
    ) -> None:
        """``trusted``: a folder of client certificates (DER or PEM) the server accepts; with
        it, any other client certificate is refused (``BadCertificateUntrusted``)."""
        if bank < 0 or arrays < 0:
            raise ValueError(f"bank and arrays must be >= 0, got {bank} and {arrays}")
        if array_length < 1:
            raise ValueError(f"array_length must be >= 1, got {array_length}")
        if period_s <= 0:
            raise ValueError(f"period_s must be > 0, got {period_s}")
        self.port = port
        self.endpoint = f"opc.tcp://127.0.0.1:{port}/helan/"
        self.period_s = period_s
        self.certificate = certificate
        self.private_key = private_key
        self.users = users
        self.trusted = trusted
        self.count = 0
        self.bank = bank
        self.arrays = arrays
        self.array_length = array_length
        self._bank_ids: list[ua.NodeId] = []
        self._array_ids: list[ua.NodeId] = []
        self._server: Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        server = Server(user_manager=_Users(self.users) if self.users else None)
        await server.init()
        server.set_endpoint(self.endpoint)
        if self.certificate is not None and self.private_key is not None:
            server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
            await server.load_certificate(str(self.certificate))
            await server.load_private_key(str(self.private_key))
        if self.trusted is not None:
            store = TrustStore([self.trusted], [])
            await store.load()
            options = (
                CertificateValidatorOptions.BASIC_VALIDATION
                | CertificateValidatorOptions.TRUSTED
                | CertificateValidatorOptions.PEER_CLIENT
            )
            server.set_certificate_validator(CertificateValidator(options, store))
        manufacturer, product, version = BUILD_INFO
        await server.set_build_info(
            "urn:wago:pfc200",
            manufacturer,
            product,
            version,
            "24",
            datetime(2023, 6, 1, tzinfo=UTC),
        )
        idx = await server.register_namespace(NAMESPACE)
        oven = await server.nodes.objects.add_object(_nid("Oven", idx), "Oven")
        self.temperature = await oven.add_variable(
            _nid("Oven.Temperature", idx), "Temperature", 20.0
        )
        self.running = await oven.add_variable(_nid("Oven.Running", idx), "Running", True)
        self.counter = await oven.add_variable(
            _nid("Oven.Count", idx), "Count", 0, varianttype=ua.VariantType.UInt32
        )
        self.setpoint = await oven.add_variable(_nid("Oven.Setpoint", idx), "Setpoint", 180.0)
        await self.setpoint.set_writable()
        self.zones = await oven.add_variable(
            _nid("Oven.Zones", idx), "Zones", [20.0] * len(ZONES), varianttype=ua.VariantType.Double
        )
        await _one_dimension(self.zones, len(ZONES))

        @uamethod
        def reset_count(parent: object) -> int:
            previous, self.count = self.count, 0
            return previous

        await oven.add_method(
            _nid("Oven.ResetCount", idx),
            "ResetCount",
            reset_count,
            [],
            [ua.VariantType.UInt32],
        )

        @uamethod
        def set_count(parent: object, value: int) -> int:
            previous, self.count = self.count, value
            return previous

        await oven.add_method(
            _nid("Oven.SetCount", idx),
            "SetCount",
            set_count,
            [ua.VariantType.UInt32],
            [ua.VariantType.UInt32],
        )
        self._bank_ids, self._array_ids = [], []  # a restart makes the nodes anew
        bank = await server.nodes.objects.add_object(_nid("Bank", idx), "Bank")
        for i in range(self.bank):
            node = await bank.add_variable(_nid(f"Bank.{i}", idx), f"B{i}", 0.0)
            self._bank_ids.append(node.nodeid)
        array_bank = await server.nodes.objects.add_object(_nid("ArrayBank", idx), "ArrayBank")
        for i in range(self.arrays):
            node = await array_bank.add_variable(
                _nid(f"ArrayBank.{i}", idx),
                f"A{i}",
                [0.0] * self.array_length,
                varianttype=ua.VariantType.Double,
            )
            await _one_dimension(node, self.array_length)
            self._array_ids.append(node.nodeid)
        await server.start()
        self._server = server
        self._task = asyncio.create_task(self._tick())

    async def _tick(self) -> None:
        t0 = time.monotonic()
        rng = random.Random(7)
        offsets = [float(j) for j in range(self.array_length)]
        due = t0
        while True:
            due += self.period_s  # a fixed cadence: the writes' own time does not slow it down
            delay = due - time.monotonic()
            if delay <= 0:  # the writes took a period or more: leave the server a period to
                delay = self.period_s  # serve its clients rather than write back to back
                due = time.monotonic() + delay
            await asyncio.sleep(delay)
            t = time.monotonic() - t0
            target = float(await self.setpoint.read_value())
            temp = target - 5 * math.exp(-t / 20) + 0.5 * math.sin(t) + rng.gauss(0, 0.05)
            self.count += 1
            await self.temperature.write_value(temp)
            await self.counter.write_value(ua.Variant(self.count, ua.VariantType.UInt32))
            zones = [temp + dz for dz in ZONES]
            await self.zones.write_value(ua.Variant(zones, ua.VariantType.Double, is_array=True))
            if self._server is not None:
                for i, nodeid in enumerate(self._bank_ids):
                    value = ua.Variant(float(self.count + i), ua.VariantType.Double)
                    await self._server.write_attribute_value(nodeid, ua.DataValue(value))
                await self._write_arrays(self._server, offsets)

    async def _write_arrays(self, server: Server, offsets: list[float]) -> None:
        """Every array gets new values (count + element index + array index / 1000), stamped
        with one source timestamp like a PLC cycle; no per-element work beyond the list."""
        stamp = ua.DateTime.now(UTC)
        for i, nodeid in enumerate(self._array_ids):
            base = self.count + i / 1000
            variant = ua.Variant([base + o for o in offsets], ua.VariantType.Double, is_array=True)
            await server.write_attribute_value(
                nodeid, ua.DataValue(variant, SourceTimestamp=stamp, ServerTimestamp=stamp)
            )

    async def write_array(
        self, index: int, value: Sequence[float] | float, status: ua.StatusCode | None = None
    ) -> None:
        """Give array ``index`` any value: for tests of a PLC whose data block changed shape
        (a shorter or longer array, a scalar) or that reports a bad status."""
        if self._server is None:
            raise RuntimeError("the server is not running")
        if isinstance(value, int | float):
            variant = ua.Variant(float(value), ua.VariantType.Double)
        else:
            variant = ua.Variant([float(v) for v in value], ua.VariantType.Double, is_array=True)
        stamp = ua.DateTime.now(UTC)
        dv = ua.DataValue(
            variant,
            StatusCode=status or ua.StatusCode(),
            SourceTimestamp=stamp,
            ServerTimestamp=stamp,
        )
        await self._server.write_attribute_value(self._array_ids[index], dv)

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None
        if self._server is not None:
            await self._server.stop()
            self._server = None


async def serve(plc: SimulatedOpcUaPlc) -> None:
    await plc.start()
    try:
        await asyncio.Event().wait()
    finally:
        await plc.stop()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m helan.sim.plc.opcua", description="A simulated oven-line OPC UA server."
    )
    parser.add_argument("port", type=int)
    parser.add_argument("bank", type=int, help="scalar Double variables ns=2;s=Bank.{i}")
    parser.add_argument("period_s", type=float, help="seconds between changes")
    parser.add_argument("--arrays", type=int, default=0, help="arrays ns=2;s=ArrayBank.{i}")
    parser.add_argument("--array-length", type=int, default=100, help="elements per array")
    args = parser.parse_args(argv)
    try:
        plc = SimulatedOpcUaPlc(
            port=args.port,
            bank=args.bank,
            period_s=args.period_s,
            arrays=args.arrays,
            array_length=args.array_length,
        )
    except ValueError as exc:
        parser.error(str(exc))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(plc))


if __name__ == "__main__":
    main()
