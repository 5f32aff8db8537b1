"""OPC UA nodes declared as data: which node, how it is sampled, which platform metric it feeds."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from helan.core.ids import DEVICE_ID, METRIC_NAME


class OpcUaNode(BaseModel):
    """One subscribed node: a scalar feeding ``metric``, or an array whose ``elements`` are
    points of their own (PLC data blocks are arrays; one notification then carries many
    points, which is what makes 20,000 points/s cheap for server and gateway)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: str | None = Field(None, pattern=METRIC_NAME.pattern, description="A scalar node.")
    elements: tuple[str, ...] | None = Field(
        None,
        min_length=1,
        description='An array node: one metric per element in index order; "" skips one.',
    )
    node_id: str = Field(min_length=3, description='e.g. "ns=2;s=Pump.Pressure" or "i=2258"')
    device: str | None = Field(
        None, pattern=DEVICE_ID.pattern, description="Overrides the server's."
    )
    sampling_interval_ms: float = Field(250, ge=0)
    deadband: float = Field(
        0, ge=0, description="Absolute deadband (per element for arrays); 0 reports every change."
    )
    unit: str | None = Field(None, description="Shared by every element of an array.")
    writable: bool = False
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _scalar_or_array(self) -> OpcUaNode:
        if (self.metric is None) == (self.elements is None):
            raise ValueError(
                f"{self.node_id}: give metric (a scalar node) or elements (an array node), "
                "exactly one of them"
            )
        if self.elements is None:
            return self
        named = [e for e in self.elements if e]
        if not named:
            raise ValueError(f"{self.node_id}: elements names no metric (all are skipped)")
        for e in named:
            if not METRIC_NAME.fullmatch(e):
                raise ValueError(f"{self.node_id}: element {e!r} is not a valid metric name")
        dupes = sorted({e for e in named if named.count(e) > 1})
        if dupes:
            raise ValueError(f"{self.node_id}: elements name {', '.join(dupes)} twice")
        if self.writable or self.min is not None or self.max is not None:
            raise ValueError(
                f"{self.node_id}: array nodes are read-only; writable, min and max apply to "
                "scalar nodes"
            )
        return self

    @property
    def metrics(self) -> tuple[str, ...]:
        """The metrics this node feeds (an array's named elements, in index order)."""
        if self.elements is not None:
            return tuple(e for e in self.elements if e)
        assert self.metric is not None  # the validator guarantees one of the two
        return (self.metric,)


class OpcUaService(BaseModel):
    """A thing-model service carried out by calling an OPC UA method."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=METRIC_NAME.pattern, description="The service's name.")
    object_id: str = Field(min_length=3, description='The object owning the method, "ns=2;s=Oven"')
    method_id: str = Field(min_length=3, description='The method, "ns=2;s=Oven.ResetCount"')
    inputs: tuple[str, ...] = Field((), description="Command params in argument order.")
    device: str | None = Field(
        None, pattern=DEVICE_ID.pattern, description="Overrides the server's."
    )


class OpcUaConnection(BaseModel):
    """One OPC UA server and the nodes subscribed on it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    endpoint: str = Field(pattern=r"^opc\.tcp://")
    device: str = Field(pattern=DEVICE_ID.pattern)
    publishing_interval_ms: float = Field(250, gt=0)
    timeout_s: float = Field(4.0, gt=0)
    security_policy: Literal["None", "Basic256Sha256"] = "None"
    security_mode: Literal["Sign", "SignAndEncrypt"] = "SignAndEncrypt"
    certificate: Path | None = Field(None, description="Client certificate (DER or PEM).")
    application_uri: str = Field(
        "urn:helan:edge", min_length=1, description="Must be the certificate's URI SAN."
    )
    private_key: Path | None = None
    server_certificate: Path | None = Field(None, description="Trusted server certificate.")
    username: str | None = None
    password: SecretStr | None = None
    reconnect_min_s: float = Field(0.5, gt=0)
    reconnect_max_s: float = Field(30.0, gt=0)
    services: tuple[OpcUaService, ...] = Field((), description="Methods callable as services.")
    nodes: tuple[OpcUaNode, ...] = Field(min_length=1)

    @field_validator("nodes")
    @classmethod
    def _unique(cls, nodes: tuple[OpcUaNode, ...], info: ValidationInfo) -> tuple[OpcUaNode, ...]:
        own = info.data.get("device")  # declared before nodes, so already validated
        seen: set[tuple[str | None, str]] = set()
        node_ids: set[str] = set()
        for n in nodes:
            if n.node_id in node_ids:  # one monitored item per node: the second would be silent
                raise ValueError(f"node {n.node_id} declared twice")
            node_ids.add(n.node_id)
            device = n.device or own
            for metric in n.metrics:
                if (device, metric) in seen:
                    raise ValueError(f"metric {metric!r} declared twice for device {device}")
                seen.add((device, metric))
        return nodes

    @field_validator("services")
    @classmethod
    def _unique_services(cls, services: tuple[OpcUaService, ...]) -> tuple[OpcUaService, ...]:
        seen: set[tuple[str | None, str]] = set()
        for m in services:
            if (m.device, m.name) in seen:
                raise ValueError(f"service {m.name!r} declared twice for one device")
            if len(set(m.inputs)) != len(m.inputs):
                raise ValueError(f"service {m.name!r} names an input twice")
            seen.add((m.device, m.name))
        return services

    @model_validator(mode="after")
    def _security(self) -> OpcUaConnection:
        if self.security_policy != "None" and (
            self.certificate is None or self.private_key is None
        ):
            raise ValueError(
                f"{self.name}: {self.security_policy} needs certificate and private_key"
            )
        if (self.username is None) != (self.password is None):
            raise ValueError(f"{self.name}: username and password go together")
        return self
