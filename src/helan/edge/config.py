"""``edge.toml``: the uplink, the buffer, and the PLCs with their points, all declared as data.

Example::

    [uplink]
    url = "mqtt://127.0.0.1:1883"
    tenant = "acme"
    format = "sparkplug"          # or "native"
    client_id = "edge-line-1"

    [buffer]
    path = "var/edge-buffer.sqlite3"
    max_bytes = 268435456

    [[modbus]]
    name = "pump-plc"
    host = "192.168.0.10"
    device = "pump-1"
    [[modbus.points]]
    metric = "pressure"
    address = 0
    type = "float32"
    unit = "bar"
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from helan.core.ids import DEVICE_ID, TENANT_ID
from helan.edge.adapters.modbus.config import ModbusConnection
from helan.edge.adapters.opcua.config import OpcUaConnection


class EdgeConfigError(ValueError):
    """The configuration file is missing, not TOML, or does not validate."""


class UplinkConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field("mqtt://127.0.0.1:1883", pattern=r"^(mqtt|mqtts|tcp|ssl)://")
    tenant: str = Field(pattern=TENANT_ID.pattern)
    format: Literal["native", "sparkplug"] = "native"
    client_id: str = Field("helan-edge", min_length=1, max_length=64)
    username: str | None = Field(None, description="Credential the platform issued (MQTT login).")
    password: SecretStr | None = None
    group_id: str | None = Field(None, description="Sparkplug group; default: the tenant.")
    edge_node_id: str | None = Field(None, description="Sparkplug edge node; default: client_id.")
    gateway_device: str | None = Field(
        None,
        pattern=DEVICE_ID.pattern,
        description="Platform device of the gateway itself; default: edge_node_id or client_id.",
    )
    health_interval_s: float = Field(10.0, gt=0, description="Seconds between health reports.")
    keepalive_s: int = Field(30, ge=5, le=3600)
    window: int = Field(256, ge=1, le=10_000, description="Live rows sent per round.")
    backlog_window: int = Field(256, ge=1, le=10_000, description="Backlog rows per round.")
    reconnect_min_s: float = Field(0.5, gt=0)
    reconnect_max_s: float = Field(30.0, gt=0)


class BufferConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    path: Path = Path("var/edge-buffer.sqlite3")
    max_bytes: int = Field(256 * 1024 * 1024, ge=64 * 1024)
    max_age_s: float = Field(7 * 86_400, gt=0)
    policy: Literal["drop-oldest"] = "drop-oldest"
    sync: Literal["normal", "full"] = "normal"


class EdgeConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    uplink: UplinkConfig
    buffer: BufferConfig = BufferConfig()
    modbus: tuple[ModbusConnection, ...] = ()
    opcua: tuple[OpcUaConnection, ...] = ()

    @model_validator(mode="after")
    def _names(self) -> EdgeConfig:
        names = [c.name for c in self.modbus] + [c.name for c in self.opcua]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"connection names must be unique: {', '.join(dupes)}")
        return self


def load_config(path: Path) -> EdgeConfig:
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except OSError as exc:
        raise EdgeConfigError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise EdgeConfigError(f"{path} is not valid TOML: {exc}") from None
    try:
        return EdgeConfig.model_validate(raw)
    except ValidationError as exc:
        lines = [
            f"  {'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()
        ]
        raise EdgeConfigError(f"{path} is invalid:\n" + "\n".join(lines)) from None
