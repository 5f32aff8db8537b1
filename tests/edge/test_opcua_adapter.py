"""The OPC UA adapter against a real asyncua server: subscriptions, writes, methods, restart."""

from __future__ import annotations

import asyncio

import pytest

from helan.edge.adapters.base import CommandFailed, CommandRefused
from helan.edge.adapters.opcua import OpcUaConnection
from helan.edge.adapters.opcua.adapter import OpcUaAdapter
from helan.edge.readings import SampleSet
from helan.sim.plc.opcua import SimulatedOpcUaPlc
from tests.conftest import eventually


def _conn(plc: SimulatedOpcUaPlc) -> OpcUaConnection:
    return OpcUaConnection.model_validate(
        {
            "name": "oven-plc",
            "endpoint": plc.endpoint,
            "device": "oven-1",
            "publishing_interval_ms": 50,
            "timeout_s": 2,
            "reconnect_min_s": 0.1,
            "reconnect_max_s": 0.5,
            "services": [
                {
                    "name": "reset_count",
                    "object_id": "ns=2;s=Oven",
                    "method_id": "ns=2;s=Oven.ResetCount",
                },
                {
                    "name": "set_count",
                    "object_id": "ns=2;s=Oven",
                    "method_id": "ns=2;s=Oven.SetCount",
                    "inputs": ["value"],
                },
                {  # declares an input the method does not take
                    "name": "reset_to",
                    "object_id": "ns=2;s=Oven",
                    "method_id": "ns=2;s=Oven.ResetCount",
                    "inputs": ["value"],
                },
            ],
            "nodes": [
                {"metric": "temperature", "node_id": "ns=2;s=Oven.Temperature", "deadband": 0.01},
                {"metric": "count", "node_id": "ns=2;s=Oven.Count", "sampling_interval_ms": 50},
                {"metric": "running", "node_id": "ns=2;s=Oven.Running"},
                {
                    "metric": "setpoint",
                    "node_id": "ns=2;s=Oven.Setpoint",
                    "writable": True,
                    "min": 0,
                    "max": 300,
                },
            ],
        }
    )


def _latest(got: list[SampleSet], metric: str) -> object:
    for s in reversed(got):
        if metric in s.values:
            return s.values[metric]
    return None


async def test_subscription_write_and_method(opcua_plc: SimulatedOpcUaPlc) -> None:
    adapter = OpcUaAdapter(_conn(opcua_plc))
    got: list[SampleSet] = []
    await adapter.start(got.extend)
    try:
        await eventually(
            lambda: isinstance(_latest(got, "count"), int) and _latest(got, "count") > 3
        )  # type: ignore[operator]
        assert _latest(got, "running") is True
        assert _latest(got, "setpoint") == 180.0
        await adapter.write("oven-1", "setpoint", 200)  # an int into a Double node
        await eventually(lambda: _latest(got, "setpoint") == 200.0)
        with pytest.raises(CommandRefused, match="above the maximum"):
            await adapter.write("oven-1", "setpoint", 900)
        with pytest.raises(CommandRefused, match="not writable"):
            await adapter.write("oven-1", "temperature", 1.0)
        (previous,) = await adapter.call("oven-1", "reset_count", {})
        assert isinstance(previous, int)
        assert previous > 3
        assert await adapter.call("oven-1", "set_count", {"value": 10_000}) != [10_000]
        await eventually(lambda: _latest(got, "count") in range(10_000, 10_100))
        with pytest.raises(CommandRefused, match="no service 'explode'"):
            await adapter.call("oven-1", "explode", {})
        with pytest.raises(CommandRefused, match=r"takes \['value'\], got \[\]"):
            await adapter.call("oven-1", "set_count", {})
        with pytest.raises(CommandRefused, match="does not fit UInt32"):
            await adapter.call("oven-1", "set_count", {"value": -1})
        with pytest.raises(CommandRefused, match="UInt32 takes an integer"):
            await adapter.call("oven-1", "set_count", {"value": "many"})
        with pytest.raises(CommandRefused, match="takes 0 arguments, the service declares 1"):
            await adapter.call("oven-1", "reset_to", {"value": 1})
    finally:
        await adapter.stop()
    assert all(s.device == "oven-1" for s in got)


async def test_subscription_recovers_after_server_restart(opcua_plc: SimulatedOpcUaPlc) -> None:
    adapter = OpcUaAdapter(_conn(opcua_plc))
    got: list[SampleSet] = []
    await adapter.start(got.extend)
    try:
        await eventually(lambda: len(got) >= 3)
        await opcua_plc.stop()
        await eventually(lambda: any(s.bad for s in got))
        with pytest.raises(CommandFailed, match="not connected"):
            await adapter.write("oven-1", "setpoint", 100)
        mark = len(got)
        await opcua_plc.start()  # a fresh server: new session, the subscription must be re-made
        await eventually(lambda: any("count" in s.values for s in got[mark:]), within=20)
    finally:
        await adapter.stop()
    bad = next(s for s in got if s.bad)
    assert set(bad.bad) == {"temperature", "count", "running", "setpoint"}
    assert adapter.status.reconnects >= 1


async def test_first_values_count_while_items_are_still_being_made(
    opcua_plc: SimulatedOpcUaPlc, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server sends an item's first value as soon as the item exists; a slow creation of
    the next items (a large node list, a busy server) must not drop it (it once did)."""
    from asyncua.common.subscription import Subscription

    async def slowly(self: Subscription, *args: object, **kwargs: object) -> object:
        made = await made_by_asyncua(self, *args, **kwargs)
        await asyncio.sleep(0.3)  # six publishing intervals before the next item
        return made

    made_by_asyncua = Subscription.create_monitored_items
    monkeypatch.setattr(Subscription, "create_monitored_items", slowly)
    adapter = OpcUaAdapter(_conn(opcua_plc))
    got: list[SampleSet] = []
    await adapter.start(got.extend)
    try:
        await eventually(lambda: all(_latest(got, m) is not None for m in ("running", "setpoint")))
        assert isinstance(_latest(got, "temperature"), float)  # made first, sent first
    finally:
        await adapter.stop()
