"""Thing models (device types), devices and the asset tree.

A thing model follows the shape users know from Alibaba's TSL and W3C WoT: properties are the
metrics a device reports (ingest validates against them), events what it raises, services the
commands it accepts, each with typed parameters.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, StringConstraints, model_validator

from helan.api.schemas.common import (
    Identifier,
    Input,
    LongText,
    MetricName,
    Name,
    ObjectId,
    Output,
    ShortText,
)

DataType = Literal["float", "int", "bool", "string"]
AssetKind = Literal["site", "line", "cell", "device-group"]
Unit = Annotated[str, StringConstraints(max_length=32)]
AttributeValue = str | int | float | bool | None


class _Typed(Input):
    name: MetricName
    type: DataType = "float"
    unit: Unit | None = None
    min: float | None = None
    max: float | None = None
    description: LongText | None = None

    @model_validator(mode="after")
    def _range(self) -> _Typed:
        if (self.min is not None or self.max is not None) and self.type in ("bool", "string"):
            raise ValueError(f"{self.name}: min/max apply only to float and int")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"{self.name}: min {self.min} is greater than max {self.max}")
        return self


class PropertySpec(_Typed):
    """A metric the device reports."""


class ParamSpec(_Typed):
    required: bool = True


def _unique(items: list[Any], what: str) -> None:
    names = [i.name for i in items]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"duplicate {what} names: {', '.join(dupes)}")


class EventSpec(Input):
    name: MetricName
    level: Literal["info", "warning", "fault"] = "info"
    description: LongText | None = None
    outputs: list[ParamSpec] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _names(self) -> EventSpec:
        _unique(self.outputs, "output")
        return self


class ServiceSpec(Input):
    """A command: ``inputs`` is the parameter schema the platform checks before sending."""

    name: MetricName
    description: LongText | None = None
    call: Literal["async", "sync"] = "async"
    inputs: list[ParamSpec] = Field(default_factory=list, max_length=100)
    outputs: list[ParamSpec] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _names(self) -> ServiceSpec:
        _unique(self.inputs, "input")
        _unique(self.outputs, "output")
        return self


class _ThingModel(Input):
    properties: Annotated[list[PropertySpec], Field(max_length=1000)] | None = None
    events: Annotated[list[EventSpec], Field(max_length=200)] | None = None
    services: Annotated[list[ServiceSpec], Field(max_length=200)] | None = None

    @model_validator(mode="after")
    def _names(self) -> _ThingModel:
        _unique(self.properties or [], "property")
        _unique(self.events or [], "event")
        _unique(self.services or [], "service")
        return self


class DeviceTypeCreate(_ThingModel):
    id: ObjectId
    name: Name
    description: LongText | None = None


class DeviceTypePatch(_ThingModel):
    name: Name | None = None
    description: LongText | None = None


class DeviceTypeOut(Output):
    id: str
    name: str
    description: str | None
    properties: list[PropertySpec]
    events: list[EventSpec]
    services: list[ServiceSpec]
    created_at: datetime
    updated_at: datetime


Attributes = Annotated[
    dict[Annotated[str, StringConstraints(max_length=64)], AttributeValue], Field(max_length=64)
]


class _DeviceFields(Input):
    vendor: ShortText | None = None
    model: ShortText | None = None
    firmware: Annotated[str, StringConstraints(max_length=100)] | None = None
    location: ShortText | None = None
    identifier: Identifier | None = None
    attributes: Attributes | None = None


GATEWAY_HELP = (
    "Device of the same tenant that connects on this one's behalf (one level: it has no gateway)"
)


class DeviceCreate(_DeviceFields):
    id: ObjectId
    name: Name
    device_type: ObjectId | None = None
    asset: ObjectId | None = None
    gateway: ObjectId | None = Field(default=None, description=GATEWAY_HELP)
    enabled: bool = True


class DevicePatch(_DeviceFields):
    name: Name | None = None
    device_type: ObjectId | None = None
    asset: ObjectId | None = None
    gateway: ObjectId | None = Field(default=None, description=GATEWAY_HELP)
    enabled: bool | None = None


_SHOWN_ONCE = "Shown once; only its SHA-256 and a salted PBKDF2 hash (for Mosquitto) are stored."


class DeviceOut(Output):
    id: str
    name: str
    device_type: str | None = Field(validation_alias=AliasChoices("device_type_id", "device_type"))
    asset: str | None = Field(validation_alias=AliasChoices("asset_id", "asset"))
    gateway: str | None = Field(validation_alias=AliasChoices("gateway_id", "gateway"))
    vendor: str | None
    model: str | None
    firmware: str | None
    location: str | None
    identifier: str | None
    enabled: bool
    attributes: dict[str, AttributeValue]
    username: str = Field(description="MQTT / HTTP Basic username of the device credential")
    broker_credential: bool = Field(
        description="Whether an external Mosquitto can check the credential (false: issued "
        "before Mosquitto hashes were stored; rotate it to connect through Mosquitto)"
    )
    credential_rotated_at: datetime
    created_at: datetime
    updated_at: datetime


class DeviceCredential(Output):
    username: str
    password: str = Field(description=_SHOWN_ONCE)


class DeviceCreated(DeviceOut):
    password: str = Field(description=_SHOWN_ONCE)


class AssetCreate(Input):
    id: ObjectId
    name: Name
    kind: AssetKind
    parent: ObjectId | None = None


class AssetPatch(Input):
    name: Name | None = None
    parent: ObjectId | None = None


class AssetOut(Output):
    id: str
    name: str
    kind: str
    parent: str | None = Field(validation_alias=AliasChoices("parent_id", "parent"))
    created_at: datetime
    updated_at: datetime


class AssetNode(Output):
    id: str
    name: str
    kind: str
    devices: list[str]
    children: list[AssetNode]
