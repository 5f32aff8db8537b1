"""The shape of the simulated factory: which devices, of which kind, on which line.

A plan is deterministic (seeded): the same plan gives the same device ids, lines and signal
parameters, so provisioning twice finds what it made the first time.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from helan.sim.machine import MachineModel, random_params
from helan.sim.meter import MeterModel
from helan.sim.metrics import KIND_DEFS, KINDS, Kind, KindDef, SimEvent, Value
from helan.sim.pump import PumpModel

MAX_DEVICES = 10_000
DEFAULT_MIX: Mapping[Kind, float] = {"pump": 0.3, "meter": 0.2, "cnc": 0.3, "press": 0.2}


class DeviceModel(Protocol):
    """A device's signals: ``sample`` is called once per reading with increasing epoch seconds."""

    kind: KindDef

    def sample(self, t: float) -> dict[str, Value]: ...

    def take_events(self) -> list[SimEvent]:
        """Events raised since the last call (by the samples taken meanwhile), oldest first."""
        ...


@dataclass(frozen=True, kw_only=True)
class FactoryPlan:
    tenant: str = "demo"
    tenant_name_zh: str = "演示企业"
    tenant_name_en: str = "Demo Enterprise"
    site: str = "demo-plant"
    site_name_zh: str = "演示工厂"
    site_name_en: str = "Demo plant"
    devices: int = 30
    mix: Mapping[Kind, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    line_size: int = 100  # devices per production line before a new line starts
    seed: int = 2024

    def __post_init__(self) -> None:
        if not 1 <= self.devices <= MAX_DEVICES:
            raise ValueError(f"devices must be 1..{MAX_DEVICES}, got {self.devices}")
        unknown = set(self.mix) - set(KINDS)
        if (
            unknown
            or not any(v > 0 for v in self.mix.values())
            or any(v < 0 for v in self.mix.values())
        ):
            raise ValueError(f"mix must give non-negative shares of {KINDS}, got {dict(self.mix)}")


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceSpec:
    device_id: str
    kind: Kind
    line: str  # asset id of the line
    line_number: int
    index: int  # position within its kind, from 0


def counts(plan: FactoryPlan) -> dict[Kind, int]:
    """Devices per kind by largest remainder, so they add up to ``plan.devices`` exactly."""
    total = sum(plan.mix.values())
    exact = {k: plan.devices * plan.mix.get(k, 0.0) / total for k in KINDS}
    out = {k: int(v) for k, v in exact.items()}
    for k in sorted(KINDS, key=lambda k: exact[k] - out[k], reverse=True)[
        : plan.devices - sum(out.values())
    ]:
        out[k] += 1
    return out


def layout(plan: FactoryPlan) -> list[DeviceSpec]:
    specs: list[DeviceSpec] = []
    for kind, n in counts(plan).items():
        for i in range(n):
            line_number = i // plan.line_size + 1
            specs.append(
                DeviceSpec(
                    device_id=f"{kind}-{i + 1:05d}",
                    kind=kind,
                    line=f"{KIND_DEFS[kind].device_type.split('-')[0]}-line-{line_number:02d}",
                    line_number=line_number,
                    index=i,
                )
            )
    return specs


def make_model(spec: DeviceSpec, seed: int) -> DeviceModel:
    rng = random.Random(f"{seed}:{spec.device_id}")
    kind = KIND_DEFS[spec.kind]
    if spec.kind == "pump":
        return PumpModel(offset=rng.randrange(10_000))
    if spec.kind == "meter":
        return MeterModel(week_offset=spec.index % 4, scale=rng.uniform(0.2, 1.0), rng=rng)
    return MachineModel(kind=kind, params=random_params(kind, rng), rng=rng)


@dataclass(kw_only=True)
class SimDevice:
    """A provisioned device: who it is, how it logs in to the broker, and what it reports."""

    tenant: str
    device_id: str
    username: str | None  # None: connect anonymously (benchmarks on an open broker)
    password: str | None
    model: DeviceModel

    @property
    def kind(self) -> KindDef:
        return self.model.kind

    @property
    def topic(self) -> str:
        return f"helan/v1/{self.tenant}/{self.device_id}/telemetry"

    @property
    def events_topic(self) -> str:
        return f"helan/v1/{self.tenant}/{self.device_id}/events"


def anonymous_devices(plan: FactoryPlan) -> list[SimDevice]:
    """Devices without credentials, for brokers that accept anonymous clients."""
    return [
        SimDevice(
            tenant=plan.tenant,
            device_id=s.device_id,
            username=None,
            password=None,
            model=make_model(s, plan.seed),
        )
        for s in layout(plan)
    ]
