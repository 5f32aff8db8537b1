"""An oven-line PLC on OPC UA (asyncua server): a few changing variables, a writable setpoint,
and methods, with optional Basic256Sha256 security and username login.

Node ids (namespace ``urn:helan:sim:oven``, index 2): ``ns=2;s=Oven.Temperature`` (Double,
degC), ``ns=2;s=Oven.Running`` (Boolean), ``ns=2;s=Oven.Count`` (UInt32 parts made),
``ns=2;s=Oven.Setpoint`` (Double, writable), methods ``ns=2;s=Oven.ResetCount()`` and
``ns=2;s=Oven.SetCount(UInt32)`` (both return the previous count) on object ``ns=2;s=Oven``.
For load tests, ``bank`` extra Double variables ``ns=2;s=Bank.{i}`` change every period.
``python -m helan.sim.plc.opcua PORT BANK PERIOD_S`` serves one on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from pathlib import Path

from asyncua import ua
from asyncua.common.methods import uamethod
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from asyncua.server.server import Server
from asyncua.server.user_managers import UserManager

NAMESPACE = "urn:helan:sim:oven"


def _nid(name: str, idx: int) -> ua.NodeId:
    return ua.NodeId.from_string(f"ns={idx};s={name}")


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
    ) -> None:
        """``trusted``: a folder of client certificates (DER or PEM) the server accepts; with
        it, any other client certificate is refused (``BadCertificateUntrusted``)."""
        self.port = port
        self.endpoint = f"opc.tcp://127.0.0.1:{port}/helan/"
        self.period_s = period_s
        self.certificate = certificate
        self.private_key = private_key
        self.users = users
        self.trusted = trusted
        self.count = 0
        self.bank = bank
        self._bank_ids: list[ua.NodeId] = []
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
        bank = await server.nodes.objects.add_object(_nid("Bank", idx), "Bank")
        for i in range(self.bank):
            node = await bank.add_variable(_nid(f"Bank.{i}", idx), f"B{i}", 0.0)
            self._bank_ids.append(node.nodeid)
        await server.start()
        self._server = server
        self._task = asyncio.create_task(self._tick())

    async def _tick(self) -> None:
        t0 = time.monotonic()
        rng = random.Random(7)
        while True:
            await asyncio.sleep(self.period_s)
            t = time.monotonic() - t0
            target = float(await self.setpoint.read_value())
            temp = target - 5 * math.exp(-t / 20) + 0.5 * math.sin(t) + rng.gauss(0, 0.05)
            self.count += 1
            await self.temperature.write_value(temp)
            await self.counter.write_value(ua.Variant(self.count, ua.VariantType.UInt32))
            if self._server is not None:
                for i, nodeid in enumerate(self._bank_ids):
                    value = ua.Variant(float(self.count + i), ua.VariantType.Double)
                    await self._server.write_attribute_value(nodeid, ua.DataValue(value))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._server is not None:
            await self._server.stop()
            self._server = None


async def serve(port: int, bank: int, period_s: float) -> None:
    plc = SimulatedOpcUaPlc(port=port, bank=bank, period_s=period_s)
    await plc.start()
    try:
        await asyncio.Event().wait()
    finally:
        await plc.stop()


if __name__ == "__main__":
    import sys

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])))
