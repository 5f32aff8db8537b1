"""The contract every protocol adapter fulfils, so the gateway treats Modbus and OPC UA alike."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from helan.edge.readings import ConnectionStatus, Scalar, Sink


class CommandRefused(Exception):
    """A write the gateway will not perform (point unknown, not writable, value out of range)."""


class CommandFailed(Exception):
    """A write the PLC refused or did not answer."""


class Adapter(Protocol):
    name: str
    status: ConnectionStatus
    identification: dict[str, str] | None  # what the PLC says it is, read on connect

    async def start(self, sink: Sink) -> None:
        """Connect in the background and push sample sets into ``sink``; returns at once."""
        ...

    async def stop(self) -> None:
        """Disconnect and end every task this adapter started."""
        ...

    def has_point(self, device: str, metric: str) -> bool:
        """Whether this adapter reads ``metric`` of ``device`` (commands are routed by this)."""
        ...

    def check(self, device: str, metric: str, value: Scalar) -> None:
        """Raise :class:`CommandRefused` unless ``value`` may be written to the point: every
        param of a command is checked before the first is written."""
        ...

    async def write(self, device: str, metric: str, value: Scalar) -> None:
        """Write one point; raises :class:`CommandRefused` or :class:`CommandFailed`."""
        ...


@runtime_checkable
class MethodAdapter(Protocol):
    """An adapter that also carries out thing-model services by calling PLC methods (OPC UA)."""

    def has_service(self, device: str, service: str) -> bool: ...

    async def call(self, device: str, service: str, params: Mapping[str, Scalar]) -> list[Scalar]:
        """Call the service's method; raises :class:`CommandRefused` or :class:`CommandFailed`."""
        ...


class Backoff:
    """Exponential reconnect delay with jitter, reset after a success."""

    def __init__(self, minimum: float, maximum: float) -> None:
        self.minimum = minimum
        self.maximum = maximum
        self.current = minimum

    def reset(self) -> None:
        self.current = self.minimum

    async def wait(self) -> None:
        delay = self.current * (0.8 + 0.4 * random.random())  # noqa: S311 - jitter, not crypto
        self.current = min(self.maximum, self.current * 2)
        await asyncio.sleep(delay)
