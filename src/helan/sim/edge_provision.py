"""Provision an edge gateway's platform side from its own ``edge.toml``, through the REST API.

The gateway config already says which platform devices its points feed and which points may be
written, so the thing models are derived from it instead of being kept in a second file: one
property per point, and a ``set_<metric>`` service per writable point (its input is the point,
which is what the gateway writes). Modbus points carry their type in the config; OPC UA nodes do
not, so their types (and the input types of methods exposed as services) are read from the
server itself. The devices the points feed get the gateway's own device as their ``gateway``,
so the gateway logs in with that one credential, which is written into a copy of the config:
``edge.toml`` takes no secrets from the environment.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from helan.core.thing import DataType
from helan.edge.adapters.modbus.config import ModbusPoint
from helan.edge.adapters.opcua.config import OpcUaConnection
from helan.edge.config import EdgeConfig
from helan.sim.plan import FactoryPlan
from helan.sim.provision import ProvisionError, _check, _Provisioner

_INTEGERS = {"int16", "uint16", "int32", "uint32", "int64", "uint64"}


@dataclass
class OpcUaTypes:
    """What an OPC UA server says about the configured nodes and methods."""

    nodes: dict[str, DataType] = field(default_factory=dict)  # node id -> type
    inputs: dict[str, list[DataType]] = field(default_factory=dict)  # method id -> input types


@dataclass(frozen=True)
class EdgeCredential:
    device: str
    username: str
    password: str


def modbus_type(point: ModbusPoint) -> DataType:
    """The type the gateway reports: an unscaled integer stays an integer (modbus codec)."""
    if point.type == "bool":
        return "bool"
    if point.type in _INTEGERS and point.scale == 1.0 and point.offset == 0.0:
        return "int"
    return "float"


def _variant_type(code: int, what: str) -> DataType:
    from asyncua import ua

    try:
        variant = ua.VariantType(code)
    except ValueError:
        raise ProvisionError(f"{what}: data type i={code} is not a built-in scalar") from None
    if variant is ua.VariantType.Boolean:
        return "bool"
    if variant in (ua.VariantType.Float, ua.VariantType.Double):
        return "float"
    if variant is ua.VariantType.String:
        return "string"
    if ua.VariantType.SByte.value <= variant.value <= ua.VariantType.UInt64.value:
        return "int"
    raise ProvisionError(f"{what}: {variant.name} has no thing-model type")


def _builtin(type_id: Any) -> int:
    """The numeric id of a namespace-0 data type (built-in ids equal the variant type codes);
    -1 for any other, which has no thing-model type."""
    identifier = type_id.Identifier
    return identifier if type_id.NamespaceIndex == 0 and isinstance(identifier, int) else -1


async def read_opcua_types(conn: OpcUaConnection) -> OpcUaTypes:
    """Connect as the gateway will (security, login) and read every node's and method input's
    data type."""
    from asyncua import ua
    from asyncua.client.client import Client
    from asyncua.ua.uaerrors import UaError, UaStatusCodeError

    client = Client(conn.endpoint, timeout=conn.timeout_s)
    client.application_uri = conn.application_uri
    client.session_timeout = 60_000  # a few reads; the default hour makes servers warn
    if conn.username is not None and conn.password is not None:
        client.set_user(conn.username)
        client.set_password(conn.password.get_secret_value())
    if conn.security_policy != "None":
        parts = [conn.security_policy, conn.security_mode, conn.certificate, conn.private_key]
        if conn.server_certificate is not None:
            parts.append(conn.server_certificate)
        await client.set_security_string(",".join(str(p) for p in parts))
    out = OpcUaTypes()
    try:
        async with client:
            for n in conn.nodes:
                variant = await client.get_node(n.node_id).read_data_type_as_variant_type()
                out.nodes[n.node_id] = _variant_type(variant.value, f"{conn.name}: {n.node_id}")
            for s in conn.services:
                try:
                    args_node = await client.get_node(s.method_id).get_child("0:InputArguments")
                    args: list[ua.Argument] = await args_node.read_value()
                except UaStatusCodeError:  # BadNoMatch: the method takes no arguments
                    args = []
                out.inputs[s.method_id] = [
                    _variant_type(_builtin(a.DataType), f"{conn.name}: {s.method_id}") for a in args
                ]
    except (OSError, TimeoutError, UaError) as exc:
        raise ProvisionError(f"cannot read node types from {conn.endpoint}: {exc!r}") from None
    return out


def thing_models(config: EdgeConfig, opcua: Mapping[str, OpcUaTypes]) -> dict[str, dict[str, Any]]:
    """Per platform device of the config: its thing model (properties and services).
    ``opcua`` maps an OPC UA connection's name to what its server said."""
    props: dict[str, dict[str, dict[str, Any]]] = {}
    services: dict[str, dict[str, dict[str, Any]]] = {}

    def add(device: str, metric: str, kind: DataType, point: Any) -> None:
        own = props.setdefault(device, {})
        services.setdefault(device, {})
        if metric in own:
            raise ProvisionError(f"device {device}: metric {metric!r} is fed twice")
        own[metric] = {"name": metric, "type": kind, "unit": point.unit}
        if point.writable:
            limits = {"min": point.min, "max": point.max} if kind in ("int", "float") else {}
            services[device][f"set_{metric}"] = {
                "name": f"set_{metric}",
                "description": f"Write {metric} on the PLC through the edge gateway",
                "inputs": [{"name": metric, "type": kind, **limits}],
            }

    for m in config.modbus:
        for p in m.points:
            add(p.device or m.device, p.metric, modbus_type(p), p)
    for o in config.opcua:
        types = opcua[o.name]
        for n in o.nodes:
            for metric in n.metrics:  # an array's elements share its data type and unit
                add(n.device or o.device, metric, types.nodes[n.node_id], n)
        for s in o.services:
            kinds = types.inputs[s.method_id]
            if len(kinds) != len(s.inputs):
                raise ProvisionError(
                    f"{o.name}: service {s.name!r} names {len(s.inputs)} inputs, "
                    f"method {s.method_id} takes {len(kinds)}"
                )
            services.setdefault(s.device or o.device, {})[s.name] = {
                "name": s.name,
                "description": f"Call OPC UA method {s.method_id}",
                "inputs": [{"name": i, "type": k} for i, k in zip(s.inputs, kinds, strict=True)],
            }
    return {
        device: {
            "name": f"Edge device {device}",
            "description": "Generated from the edge gateway's configuration",
            "properties": list(props.get(device, {}).values()),
            "services": list(services[device].values()),
        }
        for device in services
    }


def gateway_device(config: EdgeConfig) -> str:
    u = config.uplink
    return u.gateway_device or u.edge_node_id or u.client_id


async def provision_edge(
    client: httpx.AsyncClient,
    admin_token: str,
    config: EdgeConfig,
    models: Mapping[str, Mapping[str, Any]],
) -> EdgeCredential:
    """Make the tenant, one device type per device (named like the device, brought up to date
    when it exists), the gateway's device and the devices it connects for (their ``gateway``
    set, also when they exist) exist; return a fresh credential of the gateway's device."""
    p = _Provisioner(client, admin_token, FactoryPlan(tenant=config.uplink.tenant))
    await p.tenant()
    for device, model in models.items():
        status, _ = await p.post(
            f"{p.base}/device-types", {"id": device, **model}, f"create device type {device}"
        )
        if status == 409:
            r = await client.patch(f"{p.base}/device-types/{device}", json=model, headers=p.headers)
            _check(r, f"update device type {device}")
    gateway = gateway_device(config)
    body = {
        "id": gateway,
        "name": f"Edge gateway {gateway}",
        "device_type": gateway if gateway in models else None,
    }
    status, created = await p.post(f"{p.base}/devices", body, f"create device {gateway}")
    if status == 409:
        r = await client.post(f"{p.base}/devices/{gateway}/credentials", headers=p.headers)
        created = _check(r, f"rotate credential of {gateway}")
    for device in sorted(set(models) - {gateway}):
        body = {"id": device, "name": f"Edge {device}", "device_type": device, "gateway": gateway}
        status, _ = await p.post(f"{p.base}/devices", body, f"create device {device}")
        if status == 409:
            r = await client.patch(
                f"{p.base}/devices/{device}", json={"gateway": gateway}, headers=p.headers
            )
            _check(r, f"set the gateway of {device}")
    return EdgeCredential(gateway, str(created["username"]), str(created["password"]))


_TABLE = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.]+)\s*\]\]?")
_KEY = re.compile(r"^\s*(username|password|url)\s*=")


def with_credential(text: str, username: str, password: str, url: str | None = None) -> str:
    """The config text with ``[uplink]``'s username and password (and broker URL, if given) set;
    comments and layout kept (the standard library reads TOML but does not write it)."""
    values = {"username": username, "password": password}
    if url is not None:
        values["url"] = url
    lines = text.splitlines(keepends=True)
    table: str | None = None
    header = -1
    for i, line in enumerate(lines):
        if t := _TABLE.match(line):
            table = t[1]
            if table == "uplink":
                header = i
        elif table == "uplink" and (k := _KEY.match(line)) and k[1] in values:
            lines[i] = f"{k[1]} = {json.dumps(values.pop(k[1]))}\n"
    if header < 0:
        raise ProvisionError("the configuration has no [uplink] table")
    missing = [f"{k} = {json.dumps(v)}\n" for k, v in values.items()]
    lines[header + 1 : header + 1] = missing
    out = "".join(lines)
    tomllib.loads(out)  # the edit kept it TOML
    return out


def write_secret_file(path: Path, text: str) -> None:
    """Write a file only its owner can read: it holds a device password."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    path.chmod(0o600)
