"""Subscribes to one OPC UA server: data changes become sample sets, connection loss BAD."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import cast

from asyncua import ua
from asyncua.client.client import Client
from asyncua.client.ua_client import UaClientState
from asyncua.common.node import Node
from asyncua.ua.uaerrors import UaError, UaStatusCodeError

from helan.edge.adapters.base import Backoff, CommandFailed, CommandRefused
from helan.edge.adapters.opcua.client import (
    DataHandler,
    build_info,
    nodes_by_id,
    open_client,
    subscribe,
)
from helan.edge.adapters.opcua.codec import (
    UnsupportedValue,
    array_elements,
    quality_problem,
    source_ms,
    to_scalar,
    to_variant,
)
from helan.edge.adapters.opcua.config import OpcUaConnection, OpcUaNode
from helan.edge.readings import ConnectionStatus, SampleSet, Scalar, Sink, now_ms

log = logging.getLogger(__name__)
FLUSH_S = 0.05  # data changes of one publish cycle are grouped into sample sets this often


class _ArrayNode:
    """An array node's elements as metrics, and the last value forwarded per element when a
    deadband applies (it is applied here: servers filter arrays as a whole, if at all)."""

    __slots__ = ("all_named", "deadband", "last", "names")

    def __init__(self, node: OpcUaNode) -> None:
        assert node.elements is not None
        self.names = node.elements
        self.all_named = all(self.names)
        self.deadband = node.deadband
        self.last: list[Scalar | None] = [None] * len(self.names)

    def forget(self) -> None:
        """After BAD, the next good value of every element is forwarded whatever the deadband."""
        if self.deadband > 0:
            self.last = [None] * len(self.names)

    def put(self, slot: SampleSet, values: list[Scalar | UnsupportedValue]) -> None:
        if (
            self.all_named
            and self.deadband == 0
            and all(not isinstance(v, UnsupportedValue) for v in values)
        ):
            slot.values.update(zip(self.names, cast("list[Scalar]", values), strict=True))
            if slot.bad:
                for name in self.names:
                    slot.bad.pop(name, None)
            return
        for i, (name, value) in enumerate(zip(self.names, values, strict=True)):
            if not name:
                continue
            if isinstance(value, UnsupportedValue):
                slot.bad[name] = str(value)
                slot.values.pop(name, None)
                self.last[i] = None
                continue
            if self.deadband > 0:
                last = self.last[i]
                if last is not None and not _moved(last, value, self.deadband):
                    continue
                self.last[i] = value
            slot.values[name] = value
            slot.bad.pop(name, None)


def _moved(last: Scalar, value: Scalar, deadband: float) -> bool:
    """Outside the deadband; booleans and strings whenever they change, NaN always."""
    if isinstance(value, bool | str) or isinstance(last, bool | str):
        return value != last
    return not abs(value - last) <= deadband


class OpcUaAdapter:
    def __init__(self, conn: OpcUaConnection) -> None:
        self.conn = conn
        self.name = conn.name
        self.status = ConnectionStatus(conn.name)
        self.client: Client | None = None
        self.notifications = 0
        self._points = {(n.device or conn.device, m): n for n in conn.nodes for m in n.metrics}
        self._arrays = {n.node_id: _ArrayNode(n) for n in conn.nodes if n.elements is not None}
        self._services = {(m.device or conn.device, m.name): m for m in conn.services}
        self._by_id = nodes_by_id(conn)
        self._pending: list[tuple[OpcUaNode, ua.DataValue]] = []
        self._tasks: list[asyncio.Task[None]] = []
        # The server's BuildInfo, read once per connect; reported upstream as the device
        # attribute ``identification`` (the security centre's asset inventory).
        self.identification: dict[str, str] | None = None

    def has_point(self, device: str, metric: str) -> bool:
        return (device, metric) in self._points

    def has_service(self, device: str, service: str) -> bool:
        return (device, service) in self._services

    async def start(self, sink: Sink) -> None:
        self._tasks = [
            asyncio.create_task(self._run(sink), name=f"opcua:{self.name}"),
            asyncio.create_task(self._flush_loop(sink), name=f"opcua-flush:{self.name}"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.disconnect()
            self.client = None
        self.status.connected = False

    def _on_change(self, node: Node, value: ua.DataValue) -> None:
        point = self._by_id.get(node.nodeid.to_string())
        if point is not None:
            self._pending.append((point, value))
            self.notifications += 1

    async def _flush_loop(self, sink: Sink) -> None:
        while True:
            await asyncio.sleep(FLUSH_S)
            self._flush(sink)

    def _flush(self, sink: Sink) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        sets: dict[tuple[str, int], SampleSet] = {}
        fallback = now_ms()
        for point, dv in pending:
            device = point.device or self.conn.device
            ts = source_ms(dv, fallback)
            slot = sets.get((device, ts))
            if slot is None:
                slot = sets[(device, ts)] = SampleSet(device=device, ts=ts)
            problem = quality_problem(dv.StatusCode)
            array = self._arrays.get(point.node_id)
            if array is not None:
                if problem is None:
                    try:
                        array.put(slot, array_elements(dv.Value, len(array.names)))
                        continue
                    except UnsupportedValue as exc:
                        problem = str(exc)
                array.forget()
                for metric in point.metrics:
                    slot.bad[metric] = problem
                    slot.values.pop(metric, None)
                continue
            assert point.metric is not None  # a scalar node
            if problem is None:
                try:
                    slot.values[point.metric] = to_scalar(dv.Value.Value if dv.Value else None)
                    slot.bad.pop(point.metric, None)
                    continue
                except UnsupportedValue as exc:
                    problem = str(exc)
            slot.bad[point.metric] = problem
        out = [s for s in sets.values() if s]  # empty: every element inside its deadband
        if out:
            sink(out)

    def _all_bad(self, reason: str) -> list[SampleSet]:
        for array in self._arrays.values():
            array.forget()
        ts = now_ms()
        sets: dict[str, SampleSet] = {}
        for device, metric in self._points:
            sets.setdefault(device, SampleSet(device=device, ts=ts)).bad[metric] = reason
        return list(sets.values())

    async def _run(self, sink: Sink) -> None:
        """Connect (retrying with backoff), then follow the client's state; asyncua itself
        reconnects and re-creates the subscription after a server restart."""
        backoff = Backoff(self.conn.reconnect_min_s, self.conn.reconnect_max_s)
        while True:
            try:
                client = await open_client(self.conn)
                await subscribe(client, self.conn, DataHandler(self._on_change))
            except (OSError, TimeoutError, UaError, ConnectionError) as exc:
                reason = f"connect failed: {exc!r}"
                if self.status.errors == 0:
                    sink(self._all_bad(reason))
                self.status.failed(reason)
                log.warning("opcua %s: %s", self.name, reason)
                await backoff.wait()
                self.status.reconnects += 1
                continue
            self.client = client
            self.status.connected = True
            self.status.last_error = None
            await self._identify(client)
            await self._follow(client, sink)

    async def _identify(self, client: Client) -> None:
        """Read BuildInfo; a server that refuses it (or has it empty) stays unidentified."""
        try:
            found = await build_info(client)
        except (OSError, TimeoutError, UaError, ConnectionError) as exc:
            log.info("opcua %s: no build info: %r", self.name, exc)
            return
        if found:
            self.identification = {**found, "source": "opcua"}

    async def _follow(self, client: Client, sink: Sink) -> None:
        async with client.uaclient.subscribe_state() as states:
            while True:
                state = await states.next_change()
                if state is UaClientState.CONNECTED and not self.status.connected:
                    self.status.connected = True
                    self.status.reconnects += 1
                    log.info("opcua %s: reconnected, subscription re-created", self.name)
                elif (
                    state in (UaClientState.RECONNECTING, UaClientState.DISCONNECTED)
                    and self.status.connected
                ):
                    self.status.failed(f"connection {state.value}")
                    sink(self._all_bad(f"connection {state.value}"))

    def check(self, device: str, metric: str, value: Scalar) -> None:
        """What can be checked without the server: the point, writable, its range (the value's
        type is checked against the node's data type when it is written)."""
        point = self._points.get((device, metric))
        if point is None:
            raise CommandRefused(f"{self.name}: no point {metric!r} for device {device!r}")
        if point.elements is not None:
            raise CommandRefused(
                f"{self.name}: {metric!r} is element {point.elements.index(metric)} of array "
                f"node {point.node_id}; the gateway does not write array elements"
            )
        if not point.writable:
            raise CommandRefused(f"{self.name}: point {metric!r} is not writable")
        number = not isinstance(value, bool | str)
        if number and point.min is not None and value < point.min:  # type: ignore[operator]
            raise CommandRefused(f"{self.name}: {value} below the minimum {point.min}")
        if number and point.max is not None and value > point.max:  # type: ignore[operator]
            raise CommandRefused(f"{self.name}: {value} above the maximum {point.max}")

    async def write(self, device: str, metric: str, value: Scalar) -> None:
        self.check(device, metric, value)
        point = self._points[(device, metric)]
        client = self._connected_client()
        node = client.get_node(point.node_id)
        try:
            current = await node.read_data_type_as_variant_type()
            variant = to_variant(value, current)
        except UnsupportedValue as exc:
            raise CommandRefused(f"{self.name}: {exc}") from None
        except (UaError, ConnectionError, TimeoutError) as exc:
            raise CommandFailed(f"{self.name}: {exc!r}") from None
        try:
            await node.write_value(ua.DataValue(variant))
        except (UaError, ConnectionError, TimeoutError) as exc:
            raise CommandFailed(f"{self.name}: write refused: {exc!r}") from None

    async def call(self, device: str, service: str, params: Mapping[str, Scalar]) -> list[Scalar]:
        """Call the service's method with ``params`` in its declared input order, each
        converted to the type the method's ``InputArguments`` declare."""
        spec = self._services.get((device, service))
        if spec is None:
            raise CommandRefused(f"{self.name}: no service {service!r} for device {device!r}")
        if set(params) != set(spec.inputs):
            raise CommandRefused(
                f"{self.name}: {service} takes {list(spec.inputs)}, got {sorted(params)}"
            )
        client = self._connected_client()
        method = client.get_node(spec.method_id)
        try:
            types = await _input_types(method)
            if len(types) != len(spec.inputs):
                raise CommandRefused(
                    f"{self.name}: {spec.method_id} takes {len(types)} arguments, "
                    f"the service declares {len(spec.inputs)}"
                )
            args = [to_variant(params[n], t) for n, t in zip(spec.inputs, types, strict=True)]
            result = await client.get_node(spec.object_id).call_method(method.nodeid, *args)
        except UnsupportedValue as exc:
            raise CommandRefused(f"{self.name}: {service}: {exc}") from None
        except (UaError, ConnectionError, TimeoutError) as exc:
            raise CommandFailed(f"{self.name}: call {spec.method_id} failed: {exc!r}") from None
        outputs = result if isinstance(result, list) else [] if result is None else [result]
        return [_output(v) for v in outputs]

    def _connected_client(self) -> Client:
        if self.client is None or not self.status.connected:
            raise CommandFailed(f"{self.name}: not connected")
        return self.client


async def _input_types(method: Node) -> list[ua.VariantType]:
    """The variant types of a method's input arguments (none when it has no such property)."""
    try:
        prop = await method.get_child("0:InputArguments")
    except UaStatusCodeError:  # BadNoMatch: the method takes no arguments
        return []
    out: list[ua.VariantType] = []
    for arg in await prop.read_value():
        vt = ua.datatype_to_varianttype(arg.DataType)
        if not isinstance(vt, ua.VariantType):
            raise UnsupportedValue(f"argument {arg.Name!r} has a structured type")
        out.append(vt)
    return out


def _output(value: object) -> Scalar:
    try:
        return to_scalar(value)
    except UnsupportedValue:
        return repr(value)[:200]
