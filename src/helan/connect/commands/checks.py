"""A command's parameters against its thing-model service, before anything is sent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from helan.core.errors import ValidationFailed
from helan.core.thing import MetricSpec
from helan.ingest.checks import check_value
from helan.protocol.commands import Scalar


def find_service(services: list[Any], name: str, device_type: str | None) -> Mapping[str, Any]:
    for spec in services:
        if spec.get("name") == name:
            found: Mapping[str, Any] = spec
            return found
    model = f"thing model {device_type!r}" if device_type else "the device (it has no thing model)"
    raise ValidationFailed(f"service {name!r} is not defined by {model}", code="unknown_service")


def check_params(service: Mapping[str, Any], params: Mapping[str, Scalar]) -> dict[str, Scalar]:
    """The params, if every one is declared, of its type and in range, and none is missing."""
    inputs = {p["name"]: p for p in service.get("inputs", [])}
    problems: list[str] = []
    for name in params:
        if name not in inputs:
            problems.append(f"{name}: not an input of service {service['name']!r}")
    for name, p in inputs.items():
        if name not in params:
            if p.get("required", True):
                problems.append(f"{name}: required")
            continue
        spec = MetricSpec(
            name=name, type=p.get("type", "float"), min=p.get("min"), max=p.get("max")
        )
        reason, _, _ = check_value(spec, params[name])
        if reason:
            problems.append(
                f"{name}: {params[name]!r} is {reason.code.replace('_', ' ')} for "
                f"{spec.type} [{spec.min}, {spec.max}]"
            )
    if problems:
        raise ValidationFailed("; ".join(problems), code="invalid_params")
    return dict(params)
