"""Remote commands to a device: checked against its thing model's services, sent over MQTT to
the device or its gateway, answered with success, failure or timeout; every one audited."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import Field

from helan.api.deps import Meta, Paging, Reader, Writer, get_platform
from helan.api.schemas.common import Input, MetricName, Output, Page
from helan.connect.commands.service import effective_status
from helan.platform import Platform
from helan.protocol.commands import Scalar
from helan.services import commands as service
from helan.storage.meta.models import Command

router = APIRouter(prefix="/api/v1/tenants/{tenant}/devices/{device}/commands", tags=["commands"])
PlatformDep = Annotated[Platform, Depends(get_platform)]
CommandId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,32}$")]


class CommandRequest(Input):
    service: MetricName
    params: dict[MetricName, Scalar] = Field(default_factory=dict, max_length=100)
    timeout_s: float = Field(10.0, gt=0, le=300, description="How long to wait for the reply.")


class CommandOut(Output):
    id: str
    device: str
    service: str
    params: dict[str, Scalar]
    status: str = Field(description="pending, success, failure or timeout")
    reason: str | None = Field(description="executed, refused, expired, replay, write_failed...")
    message: str | None
    requested_by: str
    created_at: datetime
    expires_at: datetime
    completed_at: datetime | None


def _out(row: Command) -> CommandOut:
    return CommandOut(
        id=row.id,
        device=row.device_id,
        service=row.service,
        params=row.params,
        status=effective_status(row),
        reason=row.reason,
        message=row.message,
        requested_by=row.requested_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        completed_at=row.completed_at,
    )


@router.post("", summary="Send a command and wait for its outcome")
async def send_command(
    tenant: str,
    device: str,
    body: CommandRequest,
    principal: Writer,
    meta: Meta,
    platform: PlatformDep,
) -> CommandOut:
    """200 with ``status`` success, failure (the gateway refused or the write failed) or
    timeout (no reply within ``timeout_s``; the command expires then and is refused later)."""
    row = await service.send_command(
        meta,
        platform.commands,
        principal,
        tenant,
        device,
        service=body.service,
        params=body.params,
        timeout_s=body.timeout_s,
    )
    return _out(row)


@router.get("", summary="The device's commands, newest first")
def list_commands(
    tenant: str, device: str, _: Reader, meta: Meta, paging: Annotated[Paging, Depends()]
) -> Page[CommandOut]:
    found = service.list_commands(meta, tenant, device, paging)
    items = [_out(r) for r in found.rows]
    return Page(items=items, total=found.total, limit=paging.limit, offset=paging.offset)


@router.get("/{command_id}", summary="One command and its outcome")
def get_command(
    tenant: str, device: str, command_id: CommandId, _: Reader, meta: Meta
) -> CommandOut:
    return _out(service.get_command(meta, tenant, device, command_id))
