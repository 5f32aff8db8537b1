"""How Sparkplug names and types become platform ones.

Group id = tenant id. The edge node is a platform device named by its edge node id; each of its
Sparkplug devices is a platform device named by its Sparkplug device id (so a Helan gateway's
``pump-1`` is the same platform device whichever uplink format it uses). Sparkplug metric names
may hold ``/`` and spaces (``Inputs/Motor Current``); the platform name turns ``/`` into ``.``
and spaces or ``-`` into ``_`` (``Inputs.Motor_Current``); what still does not fit
:data:`helan.core.ids.METRIC_NAME` is rejected.
"""

from __future__ import annotations

from collections.abc import Mapping

from helan.core.ids import DEVICE_ID, METRIC_NAME, TENANT_ID
from helan.core.points import Quality
from helan.core.thing import DataType as ThingType
from helan.protocol.sparkplug.codec import DataType, Scalar

BDSEQ = "bdSeq"
REBIRTH = "Node Control/Rebirth"
# Metrics that steer the session rather than describe the machine: never stored.
CONTROL_PREFIXES = ("Node Control/", "Device Control/", "Properties/")

THING_TYPE: Mapping[DataType, ThingType] = {
    DataType.INT8: "int",
    DataType.INT16: "int",
    DataType.INT32: "int",
    DataType.INT64: "int",
    DataType.UINT8: "int",
    DataType.UINT16: "int",
    DataType.UINT32: "int",
    DataType.UINT64: "int",
    DataType.DATETIME: "int",
    DataType.FLOAT: "float",
    DataType.DOUBLE: "float",
    DataType.BOOLEAN: "bool",
    DataType.STRING: "string",
    DataType.TEXT: "string",
}


def is_control(name: str) -> bool:
    return name == BDSEQ or name.startswith(CONTROL_PREFIXES)


def platform_metric(name: str) -> str | None:
    """The platform metric name of a Sparkplug metric, or None when it cannot have one."""
    mapped = name.replace("/", ".").replace(" ", "_").replace("-", "_")
    return mapped if METRIC_NAME.fullmatch(mapped) and ".." not in mapped else None


def valid_tenant(group: str) -> bool:
    return TENANT_ID.fullmatch(group) is not None


def valid_device(device: str) -> bool:
    return DEVICE_ID.fullmatch(device) is not None and ".." not in device


def quality_of(properties: Mapping[str, Scalar], is_null: bool) -> Quality:
    """OPC DA quality codes as Ignition and Tahu send them in the ``Quality`` property:
    192 (0xC0) and up good, 64-191 uncertain, below 64 bad. A null value without a quality
    is bad: there is nothing to trust."""
    raw = properties.get("Quality")
    if isinstance(raw, int) and not isinstance(raw, bool):
        if raw >= 192:
            return Quality.GOOD
        return Quality.UNCERTAIN if raw >= 64 else Quality.BAD
    return Quality.BAD if is_null else Quality.GOOD
