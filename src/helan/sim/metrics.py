"""What each kind of simulated device reports, declared as data.

One declaration feeds three things: the thing model provisioned for the device type, the sensor
resolution the values are quantised to, and the ranges the tests check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Literal

from helan.core.thing import DataType

Kind = Literal["pump", "meter", "cnc", "press"]
KINDS: tuple[Kind, ...] = ("pump", "meter", "cnc", "press")
Value = float | int | str
SimEvent = tuple[int, str, dict[str, Value]]  # (epoch ms, event name, outputs)


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricDef:
    name: str
    unit: str | None
    type: DataType = "float"
    resolution: float | None = None  # sensor step; None for counters and strings
    min: float | None = None
    max: float | None = None
    zh: str
    en: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EventDef:
    name: str
    level: Literal["info", "warning", "fault"]
    outputs: tuple[tuple[str, DataType], ...]  # (name, type), all required
    zh: str
    en: str


# Raised by the platform's security centre (not by the simulator) on a device a newly imported
# CSAF advisory affects; declared so that the demo's rule may alarm on it.
SECURITY_ADVISORY = EventDef(
    name="security_advisory",
    level="warning",
    outputs=(
        ("advisory", "string"),
        ("version", "string"),
        ("title", "string"),
        ("cvss", "float"),
        ("cves", "string"),
        ("kev", "bool"),
    ),
    zh="安全公告",
    en="Security advisory",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class KindDef:
    kind: Kind
    device_type: str  # id of the provisioned device type
    zh: str
    en: str
    line_zh: str
    line_en: str
    metrics: tuple[MetricDef, ...]
    # Metrics an app derives for the kind (in its thing model, so rules may use them; never
    # published by the simulator).
    derived: tuple[MetricDef, ...] = ()
    events: tuple[EventDef, ...] = ()
    # (vendor, model, firmware) of the devices, by index in turn: real products, some at
    # versions that the CISA advisories in data/csaf name as affected, others not.
    products: tuple[tuple[str, str, str], ...] = (("Helan", "SIM", "1.0.0"),)


def _decimals(step: float) -> int:
    return max(0, -math.floor(math.log10(step) + 1e-9))


def quantise(value: float, step: float) -> float:
    """Round to the sensor's step, without binary noise (0.3, not 0.30000000000000004)."""
    return round(round(value / step) * step, _decimals(step))


@cache
def _steps(kind: KindDef) -> tuple[tuple[str, float | None, int], ...]:
    return tuple(
        (m.name, m.resolution, _decimals(m.resolution) if m.resolution else 0) for m in kind.metrics
    )


def quantise_values(kind: KindDef, values: dict[str, Value]) -> dict[str, Value]:
    """The kind's metrics (others dropped), floats rounded to their sensor's step (hot path)."""
    out: dict[str, Value] = {}
    for name, step, decimals in _steps(kind):
        v = values.get(name)
        if v is None:
            continue
        if step is not None and isinstance(v, float):
            v = round(round(v / step) * step, decimals)
        out[name] = v
    return out


PUMP = KindDef(
    kind="pump",
    device_type="pump-station",
    zh="泵站",
    en="Pump station",
    line_zh="泵房",
    line_en="Pump house",
    events=(SECURITY_ADVISORY,),
    products=(
        ("Schneider Electric", "BMXP342020", "V3.40"),  # Modicon M340: ICSA-23-227-01
        ("Siemens", "SIMATIC S7-1200", "V4.6"),
        ("WAGO", "PFC200", "FW27"),  # fixed after ICSA-23-325-01 (FW16-FW26)
    ),
    metrics=(
        MetricDef(
            name="vibration_1",
            unit="g",
            resolution=0.001,
            min=0,
            max=2,
            zh="振动1 RMS",
            en="Vibration 1 RMS",
        ),
        MetricDef(
            name="vibration_2",
            unit="g",
            resolution=0.001,
            min=0,
            max=2,
            zh="振动2 RMS",
            en="Vibration 2 RMS",
        ),
        MetricDef(
            name="current", unit="A", resolution=0.01, min=0, max=10, zh="电流", en="Current"
        ),
        MetricDef(
            name="pressure", unit="bar", resolution=0.01, min=-5, max=10, zh="压力", en="Pressure"
        ),
        MetricDef(
            name="motor_temperature",
            unit="°C",
            resolution=0.1,
            min=-20,
            max=150,
            zh="电机温度",
            en="Motor temperature",
        ),
        MetricDef(
            name="fluid_temperature",
            unit="°C",
            resolution=0.1,
            min=-20,
            max=150,
            zh="介质温度",
            en="Fluid temperature",
        ),
        MetricDef(
            name="voltage", unit="V", resolution=0.1, min=0, max=400, zh="电压", en="Voltage"
        ),
        MetricDef(
            name="flow_rate",
            unit="L/min",
            resolution=0.1,
            min=0,
            max=300,
            zh="流量",
            en="Flow rate",
        ),
    ),
    derived=(  # written by the anomaly app (helan.apps.builtin.anomaly)
        MetricDef(name="anomaly.score", unit=None, min=0, zh="异常分数 T²", en="Anomaly score T²"),
        MetricDef(name="anomaly.flag", unit=None, min=0, max=1, zh="异常标志", en="Anomaly flag"),
    ),
)
# SKAB column feeding each pump metric, in data.SKAB_COLUMNS order.
PUMP_COLUMNS = tuple(m.name for m in PUMP.metrics)

METER = KindDef(
    kind="meter",
    device_type="power-meter",
    zh="电能表",
    en="Power meter",
    line_zh="配电室",
    line_en="Substation",
    events=(SECURITY_ADVISORY,),
    derived=(  # written by the energy app (helan.apps.builtin.energy) every 15 min
        MetricDef(
            name="energy.enpi_ratio",
            unit=None,
            min=0,
            zh="能源绩效参数（实测/预期）",
            en="EnPI (measured / expected)",
        ),
    ),
    products=(
        ("Hitachi Energy", "RTU500 series CMU Firmware", "12.2.5"),  # ICSA-24-116-01
        ("Schneider Electric", "PowerLogic PM5560", "2.7.4"),
    ),
    metrics=(
        MetricDef(
            name="active_power",
            unit="kW",
            resolution=0.1,
            min=0,
            max=2000,
            zh="有功功率",
            en="Active power",
        ),
        MetricDef(
            name="reactive_power",
            unit="kvar",
            resolution=0.1,
            min=-2000,
            max=2000,
            zh="无功功率",
            en="Reactive power",
        ),
        MetricDef(
            name="power_factor",
            unit=None,
            resolution=0.001,
            min=0,
            max=1,
            zh="功率因数",
            en="Power factor",
        ),
        MetricDef(
            name="energy_total",
            unit="kWh",
            resolution=0.01,
            min=0,
            zh="累计电能",
            en="Energy (total)",
        ),
        MetricDef(
            name="co2_total", unit="kg", resolution=0.1, min=0, zh="累计碳排放", en="CO2 (total)"
        ),
    ),
)

_MACHINE_COMMON = (
    MetricDef(name="state", unit=None, type="string", zh="状态", en="State"),
    MetricDef(name="part_count", unit="pcs", type="int", min=0, zh="产量", en="Parts"),
    MetricDef(name="reject_count", unit="pcs", type="int", min=0, zh="废品数", en="Rejects"),
    MetricDef(
        name="cycle_time", unit="s", resolution=0.1, min=0, max=3600, zh="节拍", en="Cycle time"
    ),
)
_MACHINE_EVENTS = (
    EventDef(
        name="state_changed",
        level="info",
        outputs=(("from", "string"), ("to", "string")),
        zh="状态变化",
        en="State changed",
    ),
    EventDef(
        name="breakdown",
        level="fault",
        outputs=(("cause", "string"),),
        zh="故障停机",
        en="Breakdown",
    ),
)
# Written by the OEE app (helan.apps.builtin.oee) for the shift in progress, every 5 min.
_OEE_DERIVED = tuple(
    MetricDef(name=f"oee.{name}", unit=unit, min=0, max=mx, zh=zh, en=en)
    for name, unit, mx, zh, en in (
        ("availability", None, 1, "可用率", "Availability"),
        ("performance", None, None, "性能", "Performance"),
        ("quality", None, 1, "质量", "Quality"),
        ("oee", None, None, "设备综合效率", "OEE"),
        ("health", "%", 100, "健康指数", "Health index"),
    )
)
CNC = KindDef(
    kind="cnc",
    device_type="cnc-machine",
    zh="数控机床",
    en="CNC machine",
    line_zh="机加工线",
    line_en="Machining line",
    events=(*_MACHINE_EVENTS, SECURITY_ADVISORY),
    derived=_OEE_DERIVED,
    products=(
        ("Mitsubishi Electric", "MELSEC iQ-R Series R04CPU", "30"),  # ICSA-22-356-03 (<=32)
        ("Siemens", "SINUMERIK 828D", "V4.95"),
    ),
    metrics=(
        *_MACHINE_COMMON,
        MetricDef(
            name="spindle_speed",
            unit="rpm",
            resolution=1,
            min=0,
            max=24000,
            zh="主轴转速",
            en="Spindle speed",
        ),
        MetricDef(
            name="spindle_load",
            unit="%",
            resolution=0.1,
            min=0,
            max=150,
            zh="主轴负载",
            en="Spindle load",
        ),
    ),
)
PRESS = KindDef(
    kind="press",
    device_type="stamping-press",
    zh="冲压机",
    en="Stamping press",
    line_zh="冲压线",
    line_en="Stamping line",
    events=(*_MACHINE_EVENTS, SECURITY_ADVISORY),
    derived=_OEE_DERIVED,
    products=(
        ("Rockwell Automation", "ControlLogix 5580", "V33.011"),  # ICSA-24-284-20
        ("Omron", "NX1P2", "1.50"),
        ("Rockwell Automation", "ControlLogix 5580", "V36.011"),  # fixed
    ),
    metrics=(
        *_MACHINE_COMMON,
        MetricDef(
            name="press_force",
            unit="kN",
            resolution=0.1,
            min=0,
            max=10000,
            zh="冲压力",
            en="Press force",
        ),
        MetricDef(
            name="stroke_rate",
            unit="spm",
            resolution=0.1,
            min=0,
            max=120,
            zh="冲次",
            en="Stroke rate",
        ),
    ),
)

KIND_DEFS: dict[Kind, KindDef] = {k.kind: k for k in (PUMP, METER, CNC, PRESS)}
