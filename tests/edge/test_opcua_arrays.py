"""Array nodes: each element of an OPC UA array is a metric of its own, against a real asyncua
server (the simulated PLC's ``ArrayBank``): values, a changed shape, bad status, deadband per
element, refused writes and config validation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

import pytest
from asyncua import ua
from pydantic import ValidationError

from helan.edge.adapters.base import CommandRefused
from helan.edge.adapters.opcua import OpcUaConnection
from helan.edge.adapters.opcua.adapter import OpcUaAdapter
from helan.edge.adapters.opcua.codec import UnsupportedValue, array_elements, to_scalar
from helan.edge.readings import SampleSet
from helan.sim.plc.opcua import SimulatedOpcUaPlc, main
from tests.conftest import eventually, free_port

STILL = 3600.0  # a server period long enough that only the test changes the arrays


def _conn(endpoint: str, *nodes: dict[str, object]) -> OpcUaConnection:
    return OpcUaConnection.model_validate(
        {
            "name": "array-plc",
            "endpoint": endpoint,
            "device": "line-1",
            "publishing_interval_ms": 50,
            "timeout_s": 2,
            "nodes": list(nodes),
        }
    )


def _latest(got: list[SampleSet], metric: str) -> object:
    for s in reversed(got):
        if metric in s.values:
            return s.values[metric]
        if metric in s.bad:
            return None
    return None


def _latest_bad(got: list[SampleSet], metric: str) -> str | None:
    for s in reversed(got):
        if metric in s.bad:
            return s.bad[metric]
        if metric in s.values:
            return None
    return None


def _all_bad(got: list[SampleSet], names: list[str], reason: str) -> bool:
    return all(_latest_bad(got, n) == reason for n in names)


@pytest.fixture
async def ticking() -> AsyncIterator[SimulatedOpcUaPlc]:
    plc = SimulatedOpcUaPlc(port=free_port(), period_s=0.05, arrays=2, array_length=5)
    await plc.start()
    yield plc
    await plc.stop()


@pytest.fixture
async def still() -> AsyncIterator[SimulatedOpcUaPlc]:
    plc = SimulatedOpcUaPlc(port=free_port(), period_s=STILL, arrays=1, array_length=4)
    await plc.start()
    yield plc
    await plc.stop()


async def test_array_elements_arrive_as_metrics(ticking: SimulatedOpcUaPlc) -> None:
    conn = _conn(
        ticking.endpoint,
        {"node_id": "ns=2;s=ArrayBank.0", "elements": ["a0", "a1", "a2", "a3", "a4"]},
        {"node_id": "ns=2;s=ArrayBank.1", "elements": ["b0", "", "b2", "b3", "b4"]},
    )
    adapter = OpcUaAdapter(conn)
    got: list[SampleSet] = []
    await adapter.start(got.extend)
    try:

        def counting() -> bool:
            a0 = _latest(got, "a0")
            return isinstance(a0, float) and a0 > 2

        await eventually(counting)
        first = _latest(got, "a0")
        await eventually(lambda: _latest(got, "a0") != first)  # the arrays keep changing
        assert adapter.has_point("line-1", "b4")
        assert not adapter.has_point("line-1", "")
        with pytest.raises(CommandRefused, match=r"'a3' is element 3 of array node ns=2;s=Arr"):
            await adapter.write("line-1", "a3", 1.0)
    finally:
        await adapter.stop()
    full = [s for s in got if "a0" in s.values and "b0" in s.values]
    assert full, "both arrays of one PLC cycle share a source timestamp, so one sample set"
    s = full[-1]
    assert s.device == "line-1"
    assert set(s.values) == {"a0", "a1", "a2", "a3", "a4", "b0", "b2", "b3", "b4"}
    a0, b0 = s.values["a0"], s.values["b0"]
    assert isinstance(a0, float)
    assert isinstance(b0, float)
    assert [s.values[f"a{j}"] for j in range(5)] == [a0 + j for j in range(5)]  # index order
    assert s.values["b4"] == pytest.approx(b0 + 4)
    assert b0 == pytest.approx(a0 + 0.001)  # array 1 is array 0 shifted by 1/1000
    assert not any(s.bad for s in got)


async def test_wrong_shape_or_bad_status_marks_every_element_bad(
    still: SimulatedOpcUaPlc,
) -> None:
    names = ["t1", "t2", "t3", "t4"]
    adapter = OpcUaAdapter(
        _conn(still.endpoint, {"node_id": "ns=2;s=ArrayBank.0", "elements": names})
    )
    got: list[SampleSet] = []
    await adapter.start(got.extend)
    try:
        await eventually(lambda: _latest(got, "t4") == 0.0)  # the initial value
        cases: list[tuple[list[float] | float, str]] = [
            ([1.0, 2.0, 3.0], "expected an array of 4 elements, got 3"),
            ([1.0, 2.0, 3.0, 4.0, 5.0], "expected an array of 4 elements, got 5"),
            (7.0, "expected an array of 4 elements, got a scalar Double"),
        ]
        for value, reason in cases:
            await still.write_array(0, value)
            await eventually(partial(_all_bad, got, names, reason))
        await still.write_array(0, [1.0, 2.0, 3.0, 4.0])
        await eventually(lambda: [_latest(got, n) for n in names] == [1.0, 2.0, 3.0, 4.0])
        await still.write_array(0, [5.0] * 4, ua.StatusCode(ua.StatusCodes.BadSensorFailure))
        await eventually(partial(_all_bad, got, names, "opc ua status BadSensorFailure"))
        assert adapter.status.connected  # a bad value is the value's problem, not the link's
    finally:
        await adapter.stop()


async def test_deadband_applies_per_element(still: SimulatedOpcUaPlc) -> None:
    node = {"node_id": "ns=2;s=ArrayBank.0", "elements": ["p", "q", "r", "s"], "deadband": 0.5}
    adapter = OpcUaAdapter(_conn(still.endpoint, node))
    got: list[SampleSet] = []
    await adapter.start(got.extend)
    try:
        await eventually(lambda: len(got) == 1)
        assert got[0].values == {"p": 0.0, "q": 0.0, "r": 0.0, "s": 0.0}
        await still.write_array(0, [0.2, 1.0, 0.0, 0.0])
        await eventually(lambda: len(got) == 2)
        await still.write_array(0, [0.6, 1.3, 0.0, 0.4])  # p moved 0.6 from 0.0, q 0.3 from 1.0
        await eventually(lambda: len(got) == 3)
        await still.write_array(0, [0.6, 1.3, 0.0])  # wrong shape: BAD, and the deadband resets
        await eventually(lambda: len(got) == 4)
        await still.write_array(0, [0.6, 1.3, 0.0, 0.4])
        await eventually(lambda: len(got) == 5)
        await still.write_array(0, [0.7, 1.3, 0.0, 0.4])  # nothing outside the deadband
        await still.write_array(0, [0.7, 1.3, 0.0, 1.0])
        await eventually(lambda: len(got) == 6)
    finally:
        await adapter.stop()
    assert got[1].values == {"q": 1.0}
    assert got[2].values == {"p": 0.6}
    assert set(got[3].bad) == {"p", "q", "r", "s"}
    assert got[4].values == {"p": 0.6, "q": 1.3, "r": 0.0, "s": 0.4}
    assert got[5].values == {"s": 1.0}


def test_array_elements_codec() -> None:
    doubles = ua.Variant([1.5, 2.5], ua.VariantType.Double, is_array=True)
    assert array_elements(doubles, 2) == [1.5, 2.5]
    strings = ua.Variant(["a", None], ua.VariantType.String, is_array=True)
    first, second = array_elements(strings, 2)
    assert first == "a"
    assert isinstance(second, UnsupportedValue)  # a null element is BAD on its own
    grid = ua.Variant([[1.0, 2.0], [3.0, 4.0]], ua.VariantType.Double, [2, 2], is_array=True)
    with pytest.raises(UnsupportedValue, match="got an array of dimensions"):
        array_elements(grid, 4)
    with pytest.raises(UnsupportedValue, match="got no value"):
        array_elements(ua.Variant(None, ua.VariantType.Double, is_array=True), 2)
    with pytest.raises(UnsupportedValue, match="array of 2 elements where a scalar is configured"):
        to_scalar([1.0, 2.0])  # an array arriving on a scalar node


BASE = {"name": "p", "endpoint": "opc.tcp://127.0.0.1:4840/", "device": "line-1"}


@pytest.mark.parametrize(
    ("nodes", "error"),
    [
        ([{"node_id": "ns=2;s=A", "metric": "a", "elements": ["x"]}], "exactly one of them"),
        ([{"node_id": "ns=2;s=A"}], "exactly one of them"),
        ([{"node_id": "ns=2;s=A", "elements": []}], "at least 1 item"),
        ([{"node_id": "ns=2;s=A", "elements": ["", ""]}], "names no metric"),
        ([{"node_id": "ns=2;s=A", "elements": ["x", "y", "x"]}], "name x twice"),
        ([{"node_id": "ns=2;s=A", "elements": ["x", "9y"]}], "'9y' is not a valid metric"),
        ([{"node_id": "ns=2;s=A", "elements": ["x"], "writable": True}], "read-only"),
        ([{"node_id": "ns=2;s=A", "elements": ["x"], "max": 3}], "read-only"),
        (
            [{"node_id": "ns=2;s=A", "elements": ["x"]}, {"node_id": "ns=2;s=B", "metric": "x"}],
            "metric 'x' declared twice for device line-1",
        ),
        (
            [
                {"node_id": "ns=2;s=A", "elements": ["x"]},
                {"node_id": "ns=2;s=B", "metric": "x", "device": "line-1"},
            ],
            "metric 'x' declared twice for device line-1",
        ),
        (
            [{"node_id": "ns=2;s=A", "elements": ["x"]}, {"node_id": "ns=2;s=A", "metric": "y"}],
            "node ns=2;s=A declared twice",
        ),
    ],
)
def test_config_refuses_nonsense(nodes: list[dict[str, object]], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        OpcUaConnection.model_validate({**BASE, "nodes": nodes})


def test_config_error_names_the_nodes_field() -> None:
    nodes = [{"node_id": "ns=2;s=A", "elements": ["x"]}, {"node_id": "ns=2;s=B", "metric": "x"}]
    with pytest.raises(ValidationError) as err:
        OpcUaConnection.model_validate({**BASE, "nodes": nodes})
    assert err.value.errors()[0]["loc"] == ("nodes",)


def test_config_accepts_elements_on_two_devices() -> None:
    conn = OpcUaConnection.model_validate(
        {
            **BASE,
            "nodes": [
                {"node_id": "ns=2;s=A", "elements": ["x", "", "y"], "unit": "degC"},
                {"node_id": "ns=2;s=B", "elements": ["x", "y"], "device": "line-2"},
            ],
        }
    )
    assert [n.metrics for n in conn.nodes] == [("x", "y"), ("x", "y")]
    assert conn.nodes[0].unit == "degC"


def test_simulator_cli_refuses_an_empty_array() -> None:
    with pytest.raises(SystemExit) as done:
        main(["4840", "0", "0.1", "--arrays", "3", "--array-length", "0"])
    assert done.value.code == 2
