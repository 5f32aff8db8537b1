"""Modbus points declared as data: where a value lives in the PLC and how to read it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from helan.core.ids import DEVICE_ID, METRIC_NAME

RegisterType = Literal["coil", "discrete_input", "holding", "input"]
ModbusDataType = Literal[
    "bool", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64"
]
Order = Literal["big", "little"]

REGISTER_COUNT: dict[str, int] = {
    "bool": 1,
    "int16": 1,
    "uint16": 1,
    "int32": 2,
    "uint32": 2,
    "float32": 2,
    "int64": 4,
    "uint64": 4,
    "float64": 4,
}
BIT_TABLES = ("coil", "discrete_input")


class ModbusPoint(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: str = Field(pattern=METRIC_NAME.pattern)
    device: str | None = Field(None, pattern=DEVICE_ID.pattern, description="Overrides the PLC's.")
    table: RegisterType = "holding"
    address: int = Field(ge=0, le=65535)
    type: ModbusDataType = "uint16"
    byte_order: Order = "big"
    word_order: Order = "big"
    scale: float = 1.0
    offset: float = 0.0
    unit: str | None = None
    writable: bool = False
    min: float | None = Field(None, description="Lowest value a command may write.")
    max: float | None = Field(None, description="Highest value a command may write.")

    @property
    def width(self) -> int:
        """Addresses this point occupies: registers, or one bit in a bit table."""
        return 1 if self.table in BIT_TABLES else REGISTER_COUNT[self.type]

    @model_validator(mode="after")
    def _consistent(self) -> ModbusPoint:
        if self.table in BIT_TABLES and self.type != "bool":
            raise ValueError(f"point {self.metric!r}: a {self.table} holds a bool, not {self.type}")
        if self.address + self.width > 65536:
            raise ValueError(
                f"point {self.metric!r}: address {self.address} + {self.width} > 65536"
            )
        if self.writable and self.table in ("discrete_input", "input"):
            raise ValueError(f"point {self.metric!r}: a {self.table} cannot be written")
        if self.scale == 0:
            raise ValueError(f"point {self.metric!r}: scale must not be 0")
        return self


class ModbusConnection(BaseModel):
    """One PLC (a TCP endpoint and unit id) and the points read from it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    host: str
    port: int = Field(502, ge=1, le=65535)
    unit_id: int = Field(1, ge=0, le=255)
    device: str = Field(pattern=DEVICE_ID.pattern, description="Platform device of its points.")
    poll_interval_s: float = Field(1.0, gt=0)
    timeout_s: float = Field(1.0, gt=0)
    max_gap: int = Field(8, ge=0, description="Unused registers a merged read may span.")
    max_bit_gap: int = Field(128, ge=0, description="Unused coils/inputs a merged read may span.")
    max_registers: int = Field(125, ge=1, le=125)
    max_bits: int = Field(2000, ge=1, le=2000)
    reconnect_min_s: float = Field(0.5, gt=0)
    reconnect_max_s: float = Field(30.0, gt=0)
    points: tuple[ModbusPoint, ...] = Field(min_length=1)

    @field_validator("points")
    @classmethod
    def _unique(cls, points: tuple[ModbusPoint, ...]) -> tuple[ModbusPoint, ...]:
        seen: set[tuple[str | None, str]] = set()
        for p in points:
            key = (p.device, p.metric)
            if key in seen:
                raise ValueError(f"metric {p.metric!r} declared twice for one device")
            seen.add(key)
        return points
